"""Backoff after failed polls, kept per entry in Home Assistant's Store.

Claude.ai answers a burst of requests with a 429 and a `Retry-After`; retrying inside that
window prolongs the lockout. The window therefore outlives restarts, reloads and options
changes: it is saved with every change and loaded before the entry's first poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Self

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import BACKOFF_SCHEDULE, DOMAIN
from .scraper.protocol import ErrorCode

STORAGE_VERSION: Final = 1


def _time(value: Any) -> datetime | None:
    return dt_util.parse_datetime(value) if isinstance(value, str) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(slots=True)
class Backoff:
    """The failures in a row of one entry, and when the next request may go out."""

    failures: int = 0
    next_request: datetime | None = None
    """The earliest time of the next scheduled poll."""
    retry_after: float | None = None
    """The last `Retry-After` that claude.ai sent, in seconds."""
    wait_until: datetime | None = None
    """The end of claude.ai's `Retry-After` window: no request at all goes out before."""
    rate_limited_since: datetime | None = None
    """The first 429 of the current run of 429s."""
    bad_responses: int = 0
    """`bad_response` failures in a row."""
    bad_response_since: datetime | None = None
    """The first `bad_response` of the current run of them."""

    def waiting(self, now: datetime) -> bool:
        """Return True inside claude.ai's Retry-After window."""
        return self.wait_until is not None and now < self.wait_until

    def sane(self, now: datetime, interval: float) -> bool:
        """Return False for a saved wait longer than any this backoff can set.

        That happens when the clock was wrong (far ahead) as the state was saved.
        """
        longest = max(BACKOFF_SCHEDULE[-1], interval, self.retry_after or 0)
        return self.seconds_until_due(now) <= longest + 60

    def seconds_until_due(self, now: datetime) -> float:
        """Return the seconds until the next request may go out (0 when it may now)."""
        if self.next_request is None:
            return 0.0
        return max(0.0, (self.next_request - now).total_seconds())

    def rate_limited_for(self, now: datetime) -> timedelta:
        """Return how long claude.ai has been rate limiting, to the end of the window it asked.

        A 429 with a Retry-After of two hours is two hours without data, known at once.
        """
        if self.rate_limited_since is None:
            return timedelta()
        return max(now, self.wait_until or now) - self.rate_limited_since

    def record_failure(
        self, code: ErrorCode | str, retry_after: float | None, interval: float, now: datetime
    ) -> float:
        """Count a failed poll; return the seconds until the next one.

        The schedule is 300, 600, 1200, 2400 s, then 3600 s; never shorter than the update
        interval, and never shorter than what claude.ai asked for.
        """
        self.failures += 1
        step = BACKOFF_SCHEDULE[min(self.failures, len(BACKOFF_SCHEDULE)) - 1]
        delay = max(step, interval, retry_after or 0)
        self.next_request = now + timedelta(seconds=delay)
        self.retry_after = retry_after
        self.wait_until = now + timedelta(seconds=retry_after) if retry_after else None
        if code == ErrorCode.RATE_LIMITED:
            self.rate_limited_since = self.rate_limited_since or now
        else:
            self.rate_limited_since = None
        if code == ErrorCode.BAD_RESPONSE:
            self.bad_responses += 1
            self.bad_response_since = self.bad_response_since or now
        else:
            self.bad_responses = 0
            self.bad_response_since = None
        return delay

    def as_dict(self) -> dict[str, Any]:
        """Return the state as stored (and shown in diagnostics)."""
        return {
            "failures": self.failures,
            "next_request": _iso(self.next_request),
            "retry_after": self.retry_after,
            "wait_until": _iso(self.wait_until),
            "rate_limited_since": _iso(self.rate_limited_since),
            "bad_responses": self.bad_responses,
            "bad_response_since": _iso(self.bad_response_since),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Return the state from what `as_dict` stored; anything unreadable is dropped."""
        retry_after = data.get("retry_after")
        return cls(
            failures=int(data.get("failures") or 0),
            next_request=_time(data.get("next_request")),
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
            wait_until=_time(data.get("wait_until")),
            rate_limited_since=_time(data.get("rate_limited_since")),
            bad_responses=int(data.get("bad_responses") or 0),
            bad_response_since=_time(data.get("bad_response_since")),
        )


def backoff_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the Store that keeps an entry's backoff (`.storage/claude_usage.<id>.backoff`)."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.backoff", private=True)


async def async_load_backoff(store: Store[dict[str, Any]]) -> Backoff:
    """Return the saved backoff, or a clean one."""
    data = await store.async_load()
    return Backoff.from_dict(data) if isinstance(data, dict) else Backoff()
