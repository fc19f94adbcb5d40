"""`login`: sign in with a real browser and hand back a new session key.

With an email address the browser is headless. Claude mails a sign-in link (or, on some
accounts, shows the code field at once); the person types the code, from the mail or from the
page that the link opens on any device, into Home Assistant, which passes it over stdin. With
`--headed` a visible window opens and the person signs in any way they like; the first
`sessionKey` cookie ends the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
import json
import logging
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Error as PlaywrightError, Locator, Page

from . import signin_selectors as sel
from .browser_backend import (
    desktop_user_agent,
    export_state,
    new_context,
    pass_challenge,
    start_browser,
)
from .deadline import Deadline
from .environment import display_available
from .errors import ScraperError
from .protocol import PROTOCOL_VERSION, ErrorCode, LoginEvent, Status
from .state import SESSION_COOKIE, SavedState, StateStore

_LOGGER = logging.getLogger(__name__)

LOGIN_PATH = "/login"
_POLL_SECONDS = 0.25

type Emit = Callable[[dict[str, Any]], None]


class StdinLines:
    """Lines from stdin, read in a daemon thread so waiting for a person never blocks the loop."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self._queue.put_nowait, line)
            loop.call_soon_threadsafe(self._queue.put_nowait, None)

        threading.Thread(target=pump, name="stdin-lines", daemon=True).start()

    async def next(self, seconds: float) -> str | None:
        """Return the next line, or None at end of input; raise TimeoutError after `seconds`."""
        return await asyncio.wait_for(self._queue.get(), seconds)


def _result(state: SavedState) -> dict[str, Any]:
    cookie = next(c for c in state.cookies if c.get("name") == SESSION_COOKIE)
    expires = cookie.get("expires")
    expires_at = (
        datetime.fromtimestamp(expires, UTC).isoformat()
        if isinstance(expires, int | float) and expires > 0
        else None
    )
    return {
        "status": Status.OK.value,
        "protocol": PROTOCOL_VERSION,
        "session_key": cookie["value"],
        "expires_at": expires_at,
    }


async def _signed_in(context: BrowserContext) -> bool:
    return any(c["name"] == SESSION_COOKIE and c["value"] for c in await context.cookies())


async def _open_login_page(
    stack: AsyncExitStack, base_url: str, store: StateStore, deadline: Deadline, headless: bool
) -> tuple[BrowserContext, Page, str]:
    _, browser = await start_browser(stack, deadline, headless=headless)

    saved = store.load()
    context = await new_context(browser, base_url, saved, session_key=None)
    page = await context.new_page()
    await page.goto(
        f"{base_url.rstrip('/')}{LOGIN_PATH}",
        wait_until="domcontentloaded",
        timeout=deadline.budget() * 1000,
    )
    await pass_challenge(page, deadline)
    return context, page, desktop_user_agent(browser)


async def login_email(
    base_url: str, email: str, store: StateStore, step_seconds: float, emit: Emit
) -> dict[str, Any]:
    """Sign in with the emailed code; each of the three steps has `step_seconds`."""
    lines = StdinLines()
    async with AsyncExitStack() as stack:
        try:
            deadline = Deadline(step_seconds)
            context, page, user_agent = await _open_login_page(
                stack, base_url, store, deadline, headless=True
            )
            code_input = await _ask_for_code(page, email, deadline)
        except PlaywrightError as err:
            raise ScraperError(
                ErrorCode.TIMEOUT if "Timeout" in type(err).__name__ else ErrorCode.NETWORK,
                "The sign-in page did not ask for a code.",
            ) from err
        emit({"event": LoginEvent.CODE_REQUIRED.value})
        code = await _read_code(lines, step_seconds)
        deadline = Deadline(step_seconds)
        try:
            await code_input.fill(code, timeout=deadline.budget() * 1000)
            verify = await _wait_for(page, sel.VERIFY_CODE, deadline)
            await verify.click(timeout=deadline.budget() * 1000)
        except PlaywrightError as err:
            raise ScraperError(ErrorCode.LOGIN_FAILED, "The code could not be entered.") from err
        await _wait_until_signed_in(context, page, deadline)
        state = await export_state(context, user_agent)
    store.save(state)
    return _result(state)


async def _visible(page: Page, target: sel.Target) -> Locator | None:
    """Return the target's first visible match, trying its ways to be found in order."""
    for candidate in target.candidates(page):
        match = candidate.filter(visible=True).first
        if await match.count():
            return match
    return None


async def _wait_for(page: Page, target: sel.Target, deadline: Deadline) -> Locator:
    while (found := await _visible(page, target)) is None:
        await _raise_page_error(page)
        if not deadline.remaining():
            raise ScraperError(ErrorCode.TIMEOUT, "The sign-in page did not show what it should.")
        await asyncio.sleep(_POLL_SECONDS)
    return found


async def _ask_for_code(page: Page, email: str, deadline: Deadline) -> Locator:
    """Send the email address; return the code field, at once or after the mailed-link notice."""
    await (await _wait_for(page, sel.EMAIL_INPUT, deadline)).fill(
        email, timeout=deadline.budget() * 1000
    )
    await (await _wait_for(page, sel.CONTINUE_WITH_EMAIL, deadline)).click(
        timeout=deadline.budget() * 1000
    )
    asked_for_field = False
    while (code_input := await _visible(page, sel.CODE_INPUT)) is None:
        await _raise_page_error(page)
        if not asked_for_field and (button := await _visible(page, sel.ENTER_CODE)):
            await button.click(timeout=deadline.budget() * 1000)
            asked_for_field = True
            continue
        if not deadline.remaining():
            raise ScraperError(ErrorCode.TIMEOUT, "The sign-in page did not ask for a code.")
        await asyncio.sleep(_POLL_SECONDS)
    return code_input


async def _page_text(page: Page) -> str:
    try:
        return await page.locator("body").inner_text(timeout=1000)
    except PlaywrightError:  # between two pages: nothing to read yet
        return ""


async def _raise_page_error(page: Page) -> None:
    """Raise the error that the sign-in page states in its own words, if any."""
    words = await _page_text(page)
    if sel.RATE_LIMITED_WORDS.search(words):
        raise ScraperError(
            ErrorCode.RATE_LIMITED, "Claude refused the sign-in: too many login attempts."
        )
    if sel.SEND_FAILED_WORDS.search(words):
        raise ScraperError(ErrorCode.SERVER_ERROR, "Claude could not send the sign-in mail.")


async def _wait_until_signed_in(context: BrowserContext, page: Page, deadline: Deadline) -> None:
    """Wait until the browser has the session and has left the sign-in page."""
    while not (await _signed_in(context) and not sel.SIGN_IN_PATHS.match(urlsplit(page.url).path)):
        await _raise_page_error(page)
        if sel.CODE_REJECTED_WORDS.search(await _page_text(page)):
            raise ScraperError(ErrorCode.LOGIN_FAILED, "Claude did not accept the code.")
        if not deadline.remaining():
            raise ScraperError(ErrorCode.TIMEOUT, "Claude did not confirm the code in time.")
        await asyncio.sleep(_POLL_SECONDS)


async def _read_code(lines: StdinLines, seconds: float) -> str:
    try:
        line = await lines.next(seconds)
    except TimeoutError:
        raise ScraperError(ErrorCode.LOGIN_FAILED, "No code was entered in time.") from None
    if line is None:
        raise ScraperError(ErrorCode.LOGIN_FAILED, "Sign-in was cancelled.")
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    code = message.get("code") if isinstance(message, dict) else None
    if not isinstance(code, str | int) or not str(code).strip():
        raise ScraperError(ErrorCode.LOGIN_FAILED, 'Expected a line {"code": "123456"}.')
    return str(code).strip()


async def login_headed(base_url: str, store: StateStore, seconds: float) -> dict[str, Any]:
    """Open a visible window and wait until the person has signed in, by any method."""
    if not display_available():
        raise ScraperError(
            ErrorCode.BROWSER_UNAVAILABLE, "No display: a visible browser window cannot open here."
        )
    deadline = Deadline(seconds)
    async with AsyncExitStack() as stack:
        try:
            context, page, user_agent = await _open_login_page(
                stack, base_url, store, deadline, headless=False
            )
            while not await _signed_in(context):
                if page.is_closed() or not context.pages:
                    raise ScraperError(
                        ErrorCode.LOGIN_FAILED, "The window was closed before signing in."
                    )
                if not deadline.remaining():
                    raise ScraperError(
                        ErrorCode.LOGIN_FAILED, f"Nobody signed in within {seconds:.0f} s."
                    )
                await asyncio.sleep(_POLL_SECONDS)
        except PlaywrightError as err:
            raise ScraperError(
                ErrorCode.LOGIN_FAILED, "The browser window went away before signing in."
            ) from err
        state = await export_state(context, user_agent)
    store.save(state)
    return _result(state)
