"""Runs the scraper in a child process and turns its JSON into typed results.

This module and the scraper package are the only places that know the data comes from a child
process (ARCHITECTURE.md): the secret goes in on stdin, one JSON document comes back on stdout,
and whatever happens (deadline, cancellation, a crash) the child's whole process group is killed,
so no Chromium outlives the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from enum import StrEnum
import json
import logging
import os
from pathlib import Path
import signal
import sys
from typing import Any, Final

from homeassistant.core import HomeAssistant
import voluptuous as vol

from .const import LOGGER
from .models import CheckResult, LoginResult, Usage
from .scraper.environment import browser_problem
from .scraper.processes import process_tree
from .scraper.protocol import (
    DEFAULT_TIMEOUT,
    LOGIN_EMAIL_STEP_TIMEOUT,
    LOGIN_HEADED_TIMEOUT,
    PROTOCOL_VERSION,
    Backend,
    Command,
    ErrorCode,
    LoginEvent,
    Status,
)
from .scraper.redact import redact
from .spawn import start_process

SCRAPER_PATH: Final = Path(__file__).parent / "scraper"

MAX_OUTPUT: Final = 1024 * 1024
"""Bytes of stdout read at most; a poll result is a few kilobytes."""
STDERR_TAIL: Final = 4096
"""Bytes of stderr kept for the log when a run fails."""
DEADLINE_GRACE: Final = 10.0
"""Seconds the runner waits beyond the scraper's own deadline before killing it."""
_CHUNK: Final = 65536


class RunnerError(StrEnum):
    """Failures of the child process itself, beyond the scraper's own error codes."""

    NOT_FOUND = "scraper_missing"
    CRASHED = "scraper_crashed"
    INVALID_OUTPUT = "invalid_output"
    OUTPUT_TOO_LARGE = "output_too_large"
    PROTOCOL_MISMATCH = "protocol_mismatch"


class ScraperError(Exception):
    """A scraper run failed; `code` is an ErrorCode or a RunnerError."""

    def __init__(
        self, code: ErrorCode | RunnerError, message: str, *, retry_after: float | None = None
    ) -> None:
        """Initialize with the error code, a safe message and the server's Retry-After."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


# Errors that say something went wrong with the scraper or the data, not with claude.ai:
# worth a warning with the child's stderr; the rest are expected now and then.
_WARN_CODES: Final = frozenset({*RunnerError, ErrorCode.BAD_RESPONSE, ErrorCode.INTERNAL})

_RESULT_SCHEMA = vol.Schema(
    {
        vol.Required("status"): vol.Coerce(Status),
        vol.Required("protocol"): int,
    },
    extra=vol.ALLOW_EXTRA,
)
_ERROR_SCHEMA = vol.Schema(
    {
        vol.Required("error"): str,
        vol.Optional("message"): vol.Any(None, str),
        vol.Optional("retry_after"): vol.Any(None, vol.All(vol.Any(int, float), vol.Range(min=0))),
    },
    extra=vol.ALLOW_EXTRA,
)


class _Child:
    """One scraper process in its own process group, with its pipes drained in the background."""

    def __init__(self, proc: asyncio.subprocess.Process, secrets: tuple[str, ...]) -> None:
        self._proc = proc
        self._secrets = secrets
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.overflow = False
        self._killer: asyncio.Task[None] | None = None
        self._readers = asyncio.gather(self._read_stdout(), self._read_stderr())

    @classmethod
    async def start(
        cls, argv: list[str], secrets: tuple[str, ...], *, stdin: bytes | None
    ) -> _Child:
        """Start the scraper; `stdin` is written and closed, None keeps stdin open."""
        try:
            proc = await start_process(argv)
        except OSError as err:
            raise ScraperError(
                RunnerError.NOT_FOUND, f"Could not start the scraper: {err.strerror}"
            ) from err
        child = cls(proc, secrets)
        if stdin is not None:
            try:
                await child.write(stdin, close=True)
            except BaseException:
                await child.close()
                raise
        return child

    async def _read_stdout(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        pending = b""
        while chunk := await stream.read(_CHUNK):
            if self.overflow:
                continue  # keep draining, or the process transport never closes
            if len(self._stdout) + len(chunk) > MAX_OUTPUT:
                self.overflow = True
                self._killer = asyncio.create_task(self.terminate())
                continue
            self._stdout += chunk
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._lines.put_nowait(line)
        if pending and not self.overflow:
            self._lines.put_nowait(pending)
        self._lines.put_nowait(None)

    async def _read_stderr(self) -> None:
        stream = self._proc.stderr
        assert stream is not None
        while chunk := await stream.read(_CHUNK):
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL]

    @property
    def returncode(self) -> int | None:
        """Return the exit status, or None while the process runs."""
        return self._proc.returncode

    @property
    def stdout(self) -> bytes:
        """Return what the child printed (at most MAX_OUTPUT bytes)."""
        return bytes(self._stdout)

    def stderr_tail(self) -> str:
        """Return the end of the child's stderr, with session keys removed."""
        return redact(self._stderr.decode("utf-8", "replace"), self._secrets).strip()

    async def write(self, data: bytes, *, close: bool = False) -> None:
        """Write to the child's stdin; a child that already exited is not an error here."""
        stdin = self._proc.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        if close:
            stdin.close()

    async def next_line(self) -> bytes | None:
        """Return the next non-empty stdout line, or None at the end of output."""
        while (line := await self._lines.get()) is not None:
            if line.strip():
                return line
        self._lines.put_nowait(None)
        return None

    async def wait(self) -> int:
        """Wait until the child has exited and its output is read completely."""
        # Shielded: a cancelled caller must not cancel the readers, or the pipes would never
        # be drained and the process never reaped.
        await asyncio.shield(self._readers)
        return await self._proc.wait()

    async def terminate(self) -> None:
        """Kill the scraper and everything it started, including Chromium."""
        if self._proc.returncode is None:
            await asyncio.to_thread(_kill_tree, self._proc.pid)
        else:
            # Stragglers left in the group by a scraper that exited on its own.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill whatever is left of the child and reap it."""
        await self.terminate()
        if self._killer is not None:
            await self._killer
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        await self.wait()


def _kill_tree(pid: int) -> None:
    """Kill a scraper's process group and every descendant (runs in a worker thread).

    The group alone is not enough: Playwright starts Chromium as the leader of a process
    group of its own. The scraper's group is stopped first so nothing new starts meanwhile.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGSTOP)
    for process in process_tree(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(process, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ScraperRunner:
    """Starts the scraper for one account and validates what it prints."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        base_url: str,
        state_dir: Path,
        browser_slot: asyncio.Semaphore,
    ) -> None:
        """Initialize for one claude.ai base URL and one private state folder."""
        self.hass = hass
        self.base_url = base_url
        self.state_dir = state_dir
        self._browser_slot = browser_slot

    def _argv(self, command: Command, *args: str) -> list[str]:
        return [
            sys.executable,
            str(SCRAPER_PATH),
            command.value,
            "--base-url",
            self.base_url,
            "--state-dir",
            str(self.state_dir),
            *args,
        ]

    async def browser_problem(self) -> str | None:
        """Return why the browser backend cannot run on this host, or None."""
        return await self.hass.async_add_executor_job(browser_problem)

    async def poll(
        self,
        session_key: str,
        organization: str,
        backend: Backend,
        *,
        seconds: float = DEFAULT_TIMEOUT,
    ) -> Usage:
        """Read the organization's usage."""

        async def run(chosen: Backend) -> Usage:
            argv = self._argv(
                Command.POLL,
                "--org",
                organization,
                "--backend",
                chosen.value,
                "--timeout",
                f"{seconds:g}",
            )
            result = await self._run(argv, session_key, seconds)
            return _validate(Usage.from_dict, result)

        return await self._with_backend(backend, run)

    async def check(
        self, session_key: str, backend: Backend = Backend.AUTO, *, seconds: float = DEFAULT_TIMEOUT
    ) -> CheckResult:
        """Verify a session key and list the account's organizations."""

        async def run(chosen: Backend) -> CheckResult:
            argv = self._argv(Command.CHECK, "--backend", chosen.value, "--timeout", f"{seconds:g}")
            result = await self._run(argv, session_key, seconds)
            return _validate(CheckResult.from_dict, result)

        return await self._with_backend(backend, run)

    async def _with_backend[T](self, backend: Backend, run: Callable[[Backend], Awaitable[T]]) -> T:
        """Run with the chosen backend; `auto` is http first, the browser only on a challenge.

        `auto` is resolved here rather than in the scraper so that every browser run, in every
        entry, goes through the instance-wide browser slot: a small host never starts two
        Chromiums at once.
        """
        if backend is Backend.HTTP:
            return await run(Backend.HTTP)
        if backend is Backend.AUTO:
            try:
                result = await run(Backend.HTTP)
            except ScraperError as err:
                if err.code is not ErrorCode.BLOCKED or await self.browser_problem():
                    raise
                LOGGER.debug("Cloudflare challenged the http backend; retrying in a browser")
            else:
                return result
        async with self._browser_slot:
            return await run(Backend.BROWSER)

    async def login_headed(self) -> LoginResult:
        """Open a visible browser window and wait until the person has signed in.

        Sign-ins do not take the browser slot: a person signing in for ten minutes must not
        hold up the polls of other accounts.
        """
        argv = self._argv(Command.LOGIN, "--headed")
        child = await _Child.start(argv, (), stdin=b"")
        try:
            await _deadline(child.wait(), LOGIN_HEADED_TIMEOUT)
            result = await _final_result(child)
        except ScraperError as err:
            _log_failure(Command.LOGIN, err, child)
            raise
        finally:
            await child.close()
        return _validate(LoginResult.from_dict, result)

    def email_login(self, email: str) -> EmailLogin:
        """Prepare a sign-in with the one-time code claude.ai mails to `email`."""
        return EmailLogin(self, self._argv(Command.LOGIN, "--email", email))

    async def _run(self, argv: list[str], secret: str, seconds: float) -> dict[str, Any]:
        """Run one `poll` or `check` and return its successful result."""
        secrets = (secret,)
        child = await _Child.start(argv, secrets, stdin=f"{secret}\n".encode())
        try:
            await _deadline(child.wait(), seconds)
            return await _final_result(child)
        except ScraperError as err:
            _log_failure(argv[2], err, child)
            raise
        finally:
            await child.close()


class EmailLogin:
    """A `login --email` child kept alive between the flow's email and code steps."""

    def __init__(self, runner: ScraperRunner, argv: list[str]) -> None:
        """Initialize; nothing runs before `start`."""
        self._runner = runner
        self._argv = argv
        self._child: _Child | None = None

    async def start(self) -> None:
        """Start the sign-in and return once claude.ai has mailed the code."""
        self._child = await _Child.start(self._argv, (), stdin=None)
        line = await _deadline(self._child.next_line(), LOGIN_EMAIL_STEP_TIMEOUT)
        if line is not None:
            with contextlib.suppress(ValueError, AttributeError):
                if json.loads(line).get("event") == LoginEvent.CODE_REQUIRED:
                    return
        await self._finish(line)
        raise ScraperError(
            RunnerError.INVALID_OUTPUT, "The sign-in ended without asking for a code"
        )

    async def submit_code(self, code: str) -> LoginResult:
        """Send the code and return the session it signs in to."""
        assert self._child is not None
        await self._child.write(json.dumps({"code": code}).encode() + b"\n", close=True)
        line = await _deadline(self._child.next_line(), LOGIN_EMAIL_STEP_TIMEOUT)
        return _validate(LoginResult.from_dict, await self._finish(line))

    async def _finish(self, line: bytes | None) -> dict[str, Any]:
        """Wait for the child to exit and return its result line."""
        child = self._child
        assert child is not None
        try:
            await _deadline(child.wait(), DEADLINE_GRACE)
            if line is None:
                return await _final_result(child)
            return _parse_result(line, child.returncode)
        except ScraperError as err:
            _log_failure(Command.LOGIN, err, child)
            raise
        finally:
            await self.close()

    async def close(self) -> None:
        """End the sign-in (if it still runs) and its browser."""
        if self._child is not None:
            child, self._child = self._child, None
            await child.close()

    @property
    def running(self) -> bool:
        """Return True while a sign-in child is alive."""
        return self._child is not None and self._child.returncode is None


async def _deadline[T](awaitable: Awaitable[T], seconds: float) -> T:
    """Await with the runner's deadline: the scraper's own one plus a grace period."""
    try:
        async with asyncio.timeout(seconds + DEADLINE_GRACE):
            return await awaitable
    except TimeoutError as err:
        raise ScraperError(
            ErrorCode.TIMEOUT, f"The scraper did not finish within {seconds:g} seconds"
        ) from err


async def _final_result(child: _Child) -> dict[str, Any]:
    """Return the successful result a finished child printed, or raise its error."""
    if child.overflow:
        raise ScraperError(
            RunnerError.OUTPUT_TOO_LARGE, f"The scraper printed more than {MAX_OUTPUT} bytes"
        )
    output = child.stdout.strip()
    if not output:
        if await asyncio.to_thread(SCRAPER_PATH.joinpath("__main__.py").is_file):
            raise ScraperError(
                RunnerError.CRASHED,
                f"The scraper exited with status {child.returncode} without a result",
            )
        raise ScraperError(RunnerError.NOT_FOUND, f"The scraper is missing from {SCRAPER_PATH}")
    try:
        return _parse_result(output, child.returncode)
    except ScraperError as err:
        # A `login` prints progress lines first; its result is the last one.
        if err.code is not RunnerError.INVALID_OUTPUT or b"\n" not in output:
            raise
        return _parse_result(output.rsplit(b"\n", 1)[-1], child.returncode)


def _parse_result(document: bytes, returncode: int | None) -> dict[str, Any]:
    """Parse one JSON result; return it when ok, raise ScraperError when not."""
    try:
        result: Any = json.loads(document)
    except ValueError as err:
        raise ScraperError(
            RunnerError.INVALID_OUTPUT,
            f"The scraper's output is not JSON or is cut short (exit status {returncode})",
        ) from err
    if not isinstance(result, dict) or "status" not in result:
        raise ScraperError(RunnerError.INVALID_OUTPUT, "The scraper's output is not a result")
    if result.get("protocol") != PROTOCOL_VERSION:
        raise ScraperError(
            RunnerError.PROTOCOL_MISMATCH,
            f"The scraper speaks protocol {result.get('protocol')!r}, "
            f"this integration expects {PROTOCOL_VERSION}",
        )
    try:
        result = _RESULT_SCHEMA(result)
        if result["status"] is Status.OK:
            return dict(result)
        error = _ERROR_SCHEMA(result)
    except vol.Invalid as err:
        raise ScraperError(
            RunnerError.INVALID_OUTPUT, f"The scraper's result has an unexpected shape: {err}"
        ) from err
    try:
        code = ErrorCode(error["error"])
    except ValueError:
        code = ErrorCode.INTERNAL
    raise ScraperError(
        code,
        redact(error.get("message") or code.value),
        retry_after=error.get("retry_after"),
    )


def _validate[T](build: Callable[[dict[str, Any]], T], result: Mapping[str, Any]) -> T:
    """Build a typed result, turning a schema mismatch into a clear error."""
    try:
        return build(dict(result))
    except vol.Invalid as err:
        raise ScraperError(
            RunnerError.INVALID_OUTPUT, f"The scraper's result has an unexpected shape: {err}"
        ) from err


def _log_failure(command: str, err: ScraperError, child: _Child) -> None:
    """Log a failed run with the (redacted) end of the scraper's stderr."""
    level = logging.WARNING if err.code in _WARN_CODES else logging.DEBUG
    LOGGER.log(
        level,
        "Scraper %s failed (%s): %s; its stderr ends with:\n%s",
        command,
        err.code.value,
        err.message,
        child.stderr_tail() or "(nothing)",
    )
