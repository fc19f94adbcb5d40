"""The slow path: a real Chromium (Playwright) that passes Cloudflare's JavaScript challenge.

Imported only when a browser is needed (`import_browser_module`): Playwright's import alone
costs more than a whole poll on the http path, and Home Assistant OS has no Playwright at all.
The earned cookies go back to the state folder so the next polls can return to http.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
import logging
import os
from pathlib import Path
import shutil
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    Error as PlaywrightError,
    Page,
    Playwright,
    StorageState,
    async_playwright,
)

from .deadline import Deadline
from .environment import CHROMIUM_ENV, browser_problem, find_chromium
from .errors import ScraperError
from .protocol import ErrorCode
from .responses import RawResponse, decode
from .state import SavedState, with_session_key

_LOGGER = logging.getLogger(__name__)

# Without the background-networking flags Chromium floods a closed network with requests to
# Google; --no-sandbox because Home Assistant often runs as root in a container.
# Measured with the headless shell (scripts/bench) and left out, as they saved no PSS or CPU:
# --renderer-process-limit=1 (the shell starts one renderer anyway), --in-process-gpu (RSS
# -40 MB, PSS the same), --no-zygote (RSS -50 MB, PSS the same, more CPU), --single-process
# (PSS +20 MB). Playwright already passes --disable-extensions. Also measured without gain: a
# persistent profile in the state folder (launch_persistent_context) and a 320x240 viewport.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-blink-features=AutomationControlled",
)
CHALLENGE_TITLE = "Just a moment..."
LANDING_PATH = "/api/organizations"
"""The page the browser opens before its reads: the first JSON endpoint itself. It passes
through Cloudflare like any page, and claude.ai's settings page would load megabytes of
application script that the reads never use (on the look-alike: one request fewer, no script)."""
HEADLESS_SHELL = "chromium-headless-shell"
"""Debian's package of Chromium's headless-only build: a poll's process tree takes about 320 MB
of PSS with it against 520 MB with the full browser, and about 40 % less CPU time."""
_DEBIAN_HEADLESS_SHELL = Path("/usr/lib/chromium") / HEADLESS_SHELL
"""The binary behind Debian's /usr/bin wrapper script, which would stay as one more process."""
NODE_CACHE_DIR = "node-compile-cache"
"""Playwright's driver is Node with 7 MB of bundled script; Node's compile cache, kept in the
state folder, saves it compiling that again on every poll (about 0.1 s of CPU)."""
_CHALLENGE_BUDGET = 25.0
_RESERVE_SECONDS = 1.0
_SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
"""Never fetched: the reads need none of them. Stylesheets stay: Cloudflare's challenge may
check that its page rendered, and landing on JSON leaves nothing else to skip (routing every
request through Playwright measured no slower than not routing)."""

_FETCH_JSON = """
async ([url, timeoutMs]) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, {
      credentials: "include",
      signal: controller.signal,
      headers: {"Accept": "application/json"},
    });
    const headers = {};
    response.headers.forEach((value, name) => { headers[name] = value; });
    return {status: response.status, url: response.url, headers, body: await response.text()};
  } catch (error) {
    return {status: 0, url, headers: {}, body: "",
            error: error.name === "AbortError" ? "timeout" : String(error)};
  } finally {
    clearTimeout(timer);
  }
}
"""


def desktop_user_agent(browser: Browser) -> str:
    """Return a desktop Chrome User-Agent for this browser's version, without "Headless"."""
    major = browser.version.split(".", 1)[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def headless_executable() -> str | None:
    """Return the lightest Chromium for a headless run: the headless shell when installed.

    A browser named explicitly (CHROMIUM_ENV) is used as it is.
    """
    if os.environ.get(CHROMIUM_ENV):
        return find_chromium()
    if os.access(_DEBIAN_HEADLESS_SHELL, os.X_OK):
        return str(_DEBIAN_HEADLESS_SHELL)
    return shutil.which(HEADLESS_SHELL) or find_chromium()


def use_node_compile_cache(state_dir: Path | None) -> None:
    """Let Playwright's driver (which inherits this environment) cache its compiled script."""
    if state_dir is None or "NODE_COMPILE_CACHE" in os.environ:
        return
    # Node makes its folders 0755: with this umask they are private like the rest of the folder.
    os.umask(0o077)
    cache = state_dir / NODE_CACHE_DIR
    try:
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:  # a cache is a nicety; the poll goes on without it
        _LOGGER.debug("No Node compile cache: %s", err)
        return
    os.environ["NODE_COMPILE_CACHE"] = str(cache)


async def start_browser(
    stack: AsyncExitStack, deadline: Deadline, *, headless: bool = True
) -> tuple[Playwright, Browser]:
    """Start Playwright and Chromium, closed by `stack`; raise browser_unavailable if missing."""
    if problem := browser_problem():
        raise ScraperError(ErrorCode.BROWSER_UNAVAILABLE, problem)
    playwright = await stack.enter_async_context(async_playwright())
    try:
        browser = await playwright.chromium.launch(
            executable_path=headless_executable() if headless else find_chromium(),
            headless=headless,
            args=list(CHROMIUM_ARGS),
            timeout=deadline.budget(reserve=_RESERVE_SECONDS) * 1000,
        )
    except PlaywrightError as err:
        raise ScraperError(
            ErrorCode.BROWSER_UNAVAILABLE, f"Chromium did not start: {err.message.splitlines()[0]}"
        ) from err
    stack.push_async_callback(_close_quietly, browser)
    return playwright, browser


async def _close_quietly(browser: Browser) -> None:
    try:
        await asyncio.wait_for(browser.close(), 5)
    except Exception:  # closing a broken browser must not hide the result
        _LOGGER.debug("Chromium did not close cleanly", exc_info=True)


async def new_context(
    browser: Browser, base_url: str, saved: SavedState, session_key: str | None
) -> BrowserContext:
    """Return a context with the saved cookies and the run's session key."""
    host = urlsplit(base_url).hostname or ""
    cookies = saved.live_cookies()
    if session_key:
        cookies = with_session_key(cookies, session_key, host)
    context = await browser.new_context(
        user_agent=desktop_user_agent(browser),
        storage_state=cast(StorageState, {"cookies": cookies, "origins": saved.origins}),
    )
    await context.route("**/*", _skip_heavy_resources)
    return context


async def _skip_heavy_resources(route: Any) -> None:
    if route.request.resource_type in _SKIPPED_RESOURCES:
        await route.abort()
    else:
        await route.fallback()


async def pass_challenge(page: Page, deadline: Deadline) -> None:
    """Wait while Cloudflare's challenge page runs; raise blocked if it never lets us through."""
    try:
        await page.wait_for_function(
            f"() => document.title !== {CHALLENGE_TITLE!r}",
            timeout=deadline.budget(reserve=_RESERVE_SECONDS, cap=_CHALLENGE_BUDGET) * 1000,
        )
        await page.wait_for_load_state("domcontentloaded")
    except PlaywrightError as err:
        raise ScraperError(
            ErrorCode.BLOCKED, "The browser could not pass Cloudflare's challenge."
        ) from err


async def export_state(context: BrowserContext, user_agent: str) -> SavedState:
    """Return the context's cookies and storage for the state folder."""
    storage = await context.storage_state()
    return SavedState(
        [dict(cookie) for cookie in storage["cookies"]],
        [dict(origin) for origin in storage["origins"]],
        user_agent,
    )


class BrowserTransport:
    """Reads the JSON endpoints with `fetch` from inside a claude.ai page."""

    source = "browser"

    def __init__(
        self,
        base_url: str,
        session_key: str,
        saved: SavedState,
        deadline: Deadline,
        *,
        state_dir: Path | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._state_dir = state_dir
        self._session_key = session_key
        self._saved = saved
        self._deadline = deadline
        self._stack = AsyncExitStack()
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._user_agent = ""

    async def __aenter__(self) -> Self:
        use_node_compile_cache(self._state_dir)
        try:
            _, browser = await start_browser(self._stack, self._deadline)
            self._user_agent = desktop_user_agent(browser)
            self._context = await new_context(
                browser, self._base_url, self._saved, self._session_key
            )
            self._page = await self._context.new_page()
            await self._page.goto(
                f"{self._base_url}{LANDING_PATH}",
                wait_until="domcontentloaded",
                timeout=self._deadline.budget(reserve=_RESERVE_SECONDS) * 1000,
            )
            await pass_challenge(self._page, self._deadline)
        except PlaywrightError as err:
            await self._stack.aclose()
            raise _playwright_error(err) from err
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def get_json(self, path: str) -> object:
        """Fetch `path` from inside the page and return its JSON, or raise the contract's error."""
        assert self._page is not None
        budget = self._deadline.budget(reserve=_RESERVE_SECONDS)
        result: dict[str, Any] = await asyncio.wait_for(
            self._page.evaluate(_FETCH_JSON, [f"{self._base_url}{path}", int(budget * 1000)]),
            budget + 0.5,
        )
        if error := result.get("error"):
            if error == "timeout":
                raise ScraperError(ErrorCode.TIMEOUT, "Claude did not answer in time.")
            raise ScraperError(ErrorCode.NETWORK, f"The browser could not reach Claude: {error}")
        return decode(
            RawResponse(
                status=int(result["status"]),
                url=str(result["url"]),
                headers={str(k).lower(): str(v) for k, v in result["headers"].items()},
                body=str(result["body"]),
            )
        )

    async def export_state(self) -> SavedState:
        """Return the browser's cookies, the earned `cf_clearance` among them."""
        assert self._context is not None
        return await export_state(self._context, self._user_agent)


def _playwright_error(err: Exception) -> ScraperError:
    message = str(getattr(err, "message", err)).splitlines()[0]
    if "Timeout" in type(err).__name__:
        return ScraperError(ErrorCode.TIMEOUT, "Claude's page did not load in time.")
    return ScraperError(ErrorCode.NETWORK, f"The browser could not load Claude: {message}")
