"""The state folder: cookies (session key, Cloudflare clearance) shared by both backends.

One JSON file in Playwright's storage-state shape, so the browser backend can hand it to a new
browser context as it is and the http backend can read the same cookies. The folder is 0700 and
the file 0600: it holds the session key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import time
from typing import Any

_LOGGER = logging.getLogger(__name__)

STATE_FILE = "state.json"
SESSION_COOKIE = "sessionKey"
CLEARANCE_COOKIE = "cf_clearance"


@dataclass
class SavedState:
    """What one run hands to the next."""

    cookies: list[dict[str, Any]] = field(default_factory=list)
    origins: list[dict[str, Any]] = field(default_factory=list)
    user_agent: str | None = None
    """The browser's User-Agent: Cloudflare binds `cf_clearance` to it."""

    def live_cookies(self) -> list[dict[str, Any]]:
        """Return the cookies that have not expired (session cookies included)."""
        now = time.time()
        return [c for c in self.cookies if _expires(c) is None or _expires(c) > now]  # type: ignore[operator]

    def has_clearance(self) -> bool:
        """Return True when a Cloudflare clearance earned by the browser is still valid."""
        return any(c.get("name") == CLEARANCE_COOKIE for c in self.live_cookies())


def _expires(cookie: dict[str, Any]) -> float | None:
    expires = cookie.get("expires")
    if isinstance(expires, int | float) and expires > 0:
        return float(expires)
    return None


class StateStore:
    """Loads and saves `SavedState` in a private folder; without a folder, nothing persists."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def load(self) -> SavedState:
        """Return the saved state, or an empty one when there is none or it is unreadable."""
        if self.directory is None:
            return SavedState()
        try:
            raw = json.loads((self.directory / STATE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return SavedState()
        except (OSError, ValueError) as err:
            _LOGGER.warning("Ignoring unreadable state file: %s", err)
            return SavedState()
        if not isinstance(raw, dict):
            return SavedState()
        cookies = [c for c in raw.get("cookies") or [] if _is_cookie(c)]
        origins = [o for o in raw.get("origins") or [] if isinstance(o, dict)]
        user_agent = raw.get("user_agent")
        return SavedState(cookies, origins, user_agent if isinstance(user_agent, str) else None)

    def save(self, state: SavedState) -> None:
        """Write the state atomically with owner-only permissions."""
        if self.directory is None:
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        payload = {"cookies": state.cookies, "origins": state.origins}
        if state.user_agent:
            payload["user_agent"] = state.user_agent  # type: ignore[assignment]
        target = self.directory / STATE_FILE
        temporary = target.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(payload, file)
        os.chmod(temporary, 0o600)
        temporary.replace(target)


def _is_cookie(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and isinstance(value.get("value"), str)
    )


def with_session_key(cookies: list[dict[str, Any]], key: str, domain: str) -> list[dict[str, Any]]:
    """Return `cookies` with the run's session key replacing any saved one."""
    kept = [c for c in cookies if c.get("name") != SESSION_COOKIE]
    kept.append(
        {
            "name": SESSION_COOKIE,
            "value": key,
            "domain": domain,
            "path": "/",
            "expires": -1,
            "httpOnly": True,
            "secure": False,
            "sameSite": "Lax",
        }
    )
    return kept
