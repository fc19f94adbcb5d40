"""Command line: parse arguments, read the key, run under a deadline, print one JSON result."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import sys
import threading
from typing import Any

from .deadline import Deadline
from .errors import ScraperError
from .processes import kill_descendants
from .protocol import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    EXIT_ERROR,
    EXIT_OK,
    LOGIN_EMAIL_STEP_TIMEOUT,
    LOGIN_HEADED_TIMEOUT,
    Backend,
    Command,
    ErrorCode,
    Status,
)
from .redact import Secrets, setup_logging
from .state import StateStore

_LOGGER = logging.getLogger("claude_usage.scraper")

_WATCHDOG_GRACE = 3.0
"""Seconds past the deadline after which the watchdog reports `timeout` whatever is stuck."""
_LOGIN_EMAIL_STEPS = 3


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 seconds")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for the contract's command line (ARCHITECTURE.md)."""
    parser = argparse.ArgumentParser(
        prog="scraper",
        description="Read Claude.ai usage. The session key is read from the first line of stdin.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument("--base-url", default=DEFAULT_BASE_URL)
        command.add_argument("--state-dir", type=Path)
        command.add_argument("--timeout", type=_positive_seconds)

    poll = commands.add_parser(Command.POLL.value, help="print the usage of one organization")
    common(poll)
    poll.add_argument("--org", metavar="UUID")
    poll.add_argument("--backend", type=Backend, choices=list(Backend), default=Backend.AUTO)

    check = commands.add_parser(Command.CHECK.value, help="verify the session key")
    common(check)
    check.add_argument("--backend", type=Backend, choices=list(Backend), default=Backend.AUTO)

    login = commands.add_parser(Command.LOGIN.value, help="sign in and print a new session key")
    common(login)
    how = login.add_mutually_exclusive_group(required=True)
    how.add_argument("--email", metavar="ADDRESS")
    how.add_argument("--headed", action="store_true")
    return parser


class Output:
    """Writes results to stdout; the first final result wins, from whichever thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False

    def line(self, message: dict[str, Any]) -> None:
        """Print one JSON line (a login progress event)."""
        with self._lock:
            if not self._done:
                sys.stdout.write(json.dumps(message) + "\n")
                sys.stdout.flush()

    def final(self, result: dict[str, Any]) -> bool:
        """Print the result unless one was printed already; return whether it was printed."""
        with self._lock:
            if self._done:
                return False
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
            self._done = True
            return True


def _overall_seconds(args: argparse.Namespace) -> float:
    if args.command == Command.LOGIN:
        if args.headed:
            return float(args.timeout or LOGIN_HEADED_TIMEOUT)
        return float(args.timeout or LOGIN_EMAIL_STEP_TIMEOUT) * _LOGIN_EMAIL_STEPS
    return float(args.timeout or DEFAULT_TIMEOUT)


def _start_watchdog(seconds: float, output: Output) -> None:
    """Report `timeout` and exit if the run outlives its deadline, even if something hangs."""

    def expire() -> None:
        if output.final(
            ScraperError(ErrorCode.TIMEOUT, "The scraper's deadline passed.").to_result()
        ):
            kill_descendants(os.getpid())
            os._exit(EXIT_ERROR)

    timer = threading.Timer(seconds + _WATCHDOG_GRACE, expire)
    timer.daemon = True
    timer.start()


def _read_session_key() -> str:
    line = sys.stdin.readline() if sys.stdin else ""
    key = line.strip()
    if not key:
        raise ScraperError(ErrorCode.AUTH_INVALID, "No session key was given on stdin.")
    return key


def _execute(args: argparse.Namespace, secrets: Secrets, output: Output) -> dict[str, Any]:
    if args.command == Command.LOGIN:
        # Imported here: `poll` over http, the common case, needs neither of them.
        import asyncio

        from .environment import import_browser_module

        login = import_browser_module("login")
        store = StateStore(args.state_dir)
        if args.headed:
            result: dict[str, Any] = asyncio.run(
                login.login_headed(args.base_url, store, _overall_seconds(args))
            )
        else:
            step = float(args.timeout or LOGIN_EMAIL_STEP_TIMEOUT)
            result = asyncio.run(
                login.login_email(args.base_url, args.email, store, step, output.line)
            )
        secrets.add(result.get("session_key"))
        return result

    from .commands import Run, check, poll

    key = _read_session_key()
    secrets.add(key)
    seconds = _overall_seconds(args)
    run = Run(
        base_url=args.base_url,
        backend=args.backend,
        state_dir=args.state_dir,
        session_key=key,
        deadline=Deadline(seconds),
    )
    result = poll(run, args.org) if args.command == Command.POLL else check(run)
    secrets.add(result.get("session_key"))
    return result


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    args = build_parser().parse_args(argv)
    secrets = Secrets()
    setup_logging(secrets)
    output = Output()
    _start_watchdog(_overall_seconds(args), output)
    try:
        result = _execute(args, secrets, output)
    except ScraperError as err:
        result = err.to_result()
    except Exception:
        _LOGGER.exception("Unexpected failure")
        result = ScraperError(
            ErrorCode.INTERNAL, "Unexpected failure; see the scraper's log."
        ).to_result()
    finally:
        if "playwright" in sys.modules:
            kill_descendants(os.getpid())
    output.final(result)
    return EXIT_OK if result.get("status") == Status.OK else EXIT_ERROR
