"""`poll` and `check`: what each reads, through whichever backend gets an answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
import functools
import json
import logging
from pathlib import Path
from typing import Any, Protocol

from .deadline import Deadline
from .errors import ScraperError
from .parser import (
    organization_summary,
    parse_account,
    parse_organizations,
    parse_usage,
    pick_organization,
)
from .protocol import PROTOCOL_VERSION, Backend, ErrorCode, Status
from .state import SESSION_COOKIE, SavedState, StateStore

_LOGGER = logging.getLogger(__name__)


class Transport(Protocol):
    """What a backend offers the commands."""

    source: str

    async def get_json(self, path: str) -> object:
        """GET a claude.ai API path and return its JSON body."""

    async def export_state(self) -> SavedState:
        """Return the cookies to keep for the next run."""


type Operation = Callable[[Transport], Awaitable[dict[str, Any]]]


class Run:
    """One `poll` or `check`: its settings, the state folder and the deadline."""

    def __init__(
        self,
        *,
        base_url: str,
        backend: Backend,
        state_dir: Path | None,
        session_key: str,
        deadline: Deadline,
    ) -> None:
        self.base_url = base_url
        self.backend = backend
        self.store = StateStore(state_dir)
        self.session_key = session_key
        self.deadline = deadline
        self.renewed_key: str | None = None
        self.renewed_key_expires_at: str | None = None
        """A new session key the server set during the run, when it differs from ours."""

    def execute(self, operation: Operation) -> dict[str, Any]:
        """Run `operation` over http, the browser, or http then the browser once on a challenge."""
        if self.backend is not Backend.BROWSER:
            try:
                return _finish_without_loop(self._with_transport("http", operation))
            except ScraperError as err:
                if err.code is not ErrorCode.BLOCKED or self.backend is Backend.HTTP:
                    raise
                _LOGGER.info("Cloudflare challenged the http backend; trying the browser once")
        return self._in_event_loop(self._with_transport("browser", operation))

    def _in_event_loop(self, work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
        """Run the browser path in asyncio, cut off at the run's deadline."""
        import asyncio  # the http path never pays for asyncio's import

        async def within() -> dict[str, Any]:
            seconds = self.deadline.remaining()
            try:
                async with asyncio.timeout(seconds):
                    return await work
            except TimeoutError:
                raise ScraperError(
                    ErrorCode.TIMEOUT, f"No answer within the {self.deadline.seconds:g} s deadline."
                ) from None

        return asyncio.run(within())

    async def _with_transport(self, kind: str, operation: Operation) -> dict[str, Any]:
        saved = self.store.load()
        transport_class: Any
        if kind == "http":
            from .http_backend import HttpTransport as transport_class
        else:
            from .environment import import_browser_module

            transport_class = functools.partial(
                import_browser_module("browser_backend").BrowserTransport,
                state_dir=self.store.directory,
            )
        async with transport_class(
            self.base_url, self.session_key, saved, self.deadline
        ) as transport:
            try:
                result = await operation(transport)
            finally:
                self._save(await transport.export_state())
            result["source"] = transport.source
            return result

    def _save(self, state: SavedState) -> None:
        self.store.save(state)
        cookie = next((c for c in state.cookies if c.get("name") == SESSION_COOKIE), None)
        renewed = cookie.get("value") if cookie else None
        if cookie is None or not renewed or renewed == self.session_key:
            self.renewed_key = self.renewed_key_expires_at = None
            return
        self.renewed_key = renewed
        # Epoch seconds in the storage-state shape, -1 for a cookie without an expiry.
        expires = cookie.get("expires")
        self.renewed_key_expires_at = (
            datetime.fromtimestamp(expires, UTC).isoformat()
            if isinstance(expires, int | float) and expires > 0
            else None
        )


def _parsed[T](parse: Callable[[Any], T], payload: object) -> T:
    """Parse a JSON body; a body of the wrong shape goes with the error as a sample."""
    try:
        return parse(payload)
    except ScraperError as err:
        if err.code is ErrorCode.BAD_RESPONSE and err.sample is None:
            raise ScraperError(
                err.code, err.message, sample=json.dumps(payload, ensure_ascii=False)
            ) from err
        raise


def _finish_without_loop(work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a coroutine that never suspends (the http path) to its end, without an event loop.

    The http transport's methods are coroutines only to share the browser's interface; none of
    them awaits anything that suspends, and importing asyncio alone costs about a third of a
    whole http poll. libcurl's timeout and the command's watchdog bound the run instead.
    """
    try:
        work.send(None)
    except StopIteration as done:
        result: dict[str, Any] = done.value
        return result
    work.close()
    raise RuntimeError("the http path awaited something that suspends")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def poll(run: Run, org_uuid: str | None) -> dict[str, Any]:
    """Read the chosen organization's usage."""

    async def operation(transport: Transport) -> dict[str, Any]:
        organizations = _parsed(parse_organizations, await transport.get_json("/api/organizations"))
        organization = pick_organization(organizations, org_uuid)
        usage = _parsed(
            parse_usage,
            await transport.get_json(f"/api/organizations/{organization['uuid']}/usage"),
        )
        fetched_at = _now()
        return {
            "status": Status.OK.value,
            "protocol": PROTOCOL_VERSION,
            "source": transport.source,
            "fetched_at": fetched_at,
            "organization": organization_summary(organization),
            "usage_percent": usage["usage_percent"],
            "reset_time": usage["reset_time"],
            "last_updated": fetched_at,
            "windows": usage["windows"],
            "extra_usage": usage["extra_usage"],
        }

    result = run.execute(operation)
    if run.renewed_key:
        result["session_key"] = run.renewed_key
        # Optional, beside the renewed key: when the cookie claude.ai set with it expires.
        result["session_key_expires_at"] = run.renewed_key_expires_at
    return result


def check(run: Run) -> dict[str, Any]:
    """Verify the session and list the account's organizations."""

    async def operation(transport: Transport) -> dict[str, Any]:
        organizations = parse_organizations(await transport.get_json("/api/organizations"))
        try:
            account = parse_account(await transport.get_json("/api/account"))
        except ScraperError as err:
            # The organizations list already proved the session; the account is a nicety.
            if err.code in (ErrorCode.TIMEOUT, ErrorCode.AUTH_INVALID, ErrorCode.BLOCKED):
                raise
            _LOGGER.info("No account details: %s", err.message)
            account = None
        return {
            "status": Status.OK.value,
            "protocol": PROTOCOL_VERSION,
            "source": transport.source,
            "account": account,
            "organizations": organizations,
        }

    return run.execute(operation)
