"""Whether this host can run the browser backend, asked without importing Playwright.

The integration asks this to decide which sign-in choices to offer and when to raise a repair
issue; the scraper asks it before launching a browser, to fail with a message that says what to
install instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from types import ModuleType

from .errors import ScraperError
from .protocol import ErrorCode

CHROMIUM_ENV = "CLAUDE_USAGE_CHROMIUM"
"""Names a Chromium binary explicitly, for hosts where it is not on PATH."""

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Return the path of a Chromium-family browser, or None."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in _CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


def browser_problem() -> str | None:
    """Return why the browser backend cannot run here, or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return (
            "The Python package 'playwright' is not installed in Home Assistant's environment "
            "(pip install playwright); it has no build for Home Assistant OS or the official "
            "container, where only the http backend and a pasted session key work."
        )
    if find_chromium() is None:
        return (
            "No Chromium browser was found on PATH (on Debian or Ubuntu: apt install chromium; "
            f"or set {CHROMIUM_ENV} to the browser's path)."
        )
    return None


def import_browser_module(name: str) -> ModuleType:
    """Import a scraper module that needs Playwright, or raise browser_unavailable."""
    try:
        return importlib.import_module(f".{name}", __package__)
    except ImportError as err:
        raise ScraperError(
            ErrorCode.BROWSER_UNAVAILABLE, browser_problem() or f"Playwright failed: {err}"
        ) from err


def display_available() -> bool:
    """Return True when a visible browser window can be opened (X11 or Wayland)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
