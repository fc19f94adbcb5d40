"""Run the look-alike from a shell: ``python -m tests.lookalike [options]``.

The first stdout line is the base URL alone (scripts read it), the second the demo session key.
Serves until SIGINT or SIGTERM and exits with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import contextlib
import logging
import signal
import sys

from .payloads import ORGANIZATION_PRESETS, USAGE_SHAPES
from .server import FAIL_ON_CHOICES, FAILURES, LOGIN_FAILURES, LookalikeServer
from .signin_pages import LOGIN_LINK_FIRST, LOGIN_VARIANTS


def _choice(choices: tuple[str, ...], prefix: str) -> Callable[[str], str]:
    """Accept a value (``legacy_2025``) or its constant's name (``USAGE_LEGACY_2025``)."""

    def parse(text: str) -> str:
        value = text.lower().removeprefix(prefix)
        if value not in choices:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(choices)}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.lookalike", description="A local server that behaves like claude.ai."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument(
        "--usage-shape",
        type=_choice(USAGE_SHAPES, "usage_"),
        default=USAGE_SHAPES[0],
        help=f"usage payload: {', '.join(USAGE_SHAPES)}",
    )
    parser.add_argument(
        "--organizations",
        type=_choice(ORGANIZATION_PRESETS, "orgs_"),
        default="default",
        help=f"organizations preset: {', '.join(ORGANIZATION_PRESETS)}",
    )
    parser.add_argument(
        "--failure",
        type=_choice(FAILURES, "fail_"),
        default=None,
        help=f"answer data requests with a failure: {', '.join(FAILURES)}",
    )
    parser.add_argument("--failure-on", choices=FAIL_ON_CHOICES, default="all")
    parser.add_argument("--retry-after", type=int, default=120, help="Retry-After for a 429")
    parser.add_argument("--challenge", action="store_true", help="Cloudflare JS challenge on")
    parser.add_argument("--clearance-ttl", type=float, default=1800.0, help="cf_clearance life")
    parser.add_argument(
        "--rotate-session-key", action="store_true", help="renew the key on the next 200"
    )
    parser.add_argument("--demo", action="store_true", help="usage that moves with every poll")
    parser.add_argument(
        "--auto-approve-logins", action="store_true", help="sign-in pages finish by themselves"
    )
    parser.add_argument(
        "--login-variant",
        choices=LOGIN_VARIANTS,
        default=LOGIN_LINK_FIRST,
        help="after the email: a mailed link first (claude.ai today) or the code field at once",
    )
    parser.add_argument(
        "--login-failure", choices=LOGIN_FAILURES, default=None, help="how sending the mail fails"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    server = LookalikeServer(
        usage_shape=args.usage_shape,
        organizations=args.organizations,
        failure=args.failure,
        failure_on=args.failure_on,
        retry_after=args.retry_after,
        challenge=args.challenge,
        clearance_ttl=args.clearance_ttl,
        rotate_session_key=args.rotate_session_key,
        demo=args.demo,
        auto_approve_logins=args.auto_approve_logins,
        login_variant=args.login_variant,
        login_failure=args.login_failure,
        access_log=args.verbose,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start(args.host, args.port)
    try:
        print(server.url, flush=True)
        print(f"Session key: {server.session_key}", flush=True)
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    # A signal that lands before the loop's handlers exist must not print a traceback either.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
