"""Request health since Home Assistant started: what diagnostics show about the polls."""

from __future__ import annotations

from collections import Counter, deque
from datetime import datetime
import statistics
from typing import Any, Final

from .scraper.protocol import Backend

DURATIONS_KEPT: Final = 1000
"""Poll durations kept for the median: about three days at the default interval."""


class RequestHealth:
    """Counts of the polls of one entry, their failures and their durations."""

    def __init__(self) -> None:
        """Initialize with nothing polled yet."""
        self.polls = 0
        self.failures: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.refused = 0
        self._durations: deque[float] = deque(maxlen=DURATIONS_KEPT)
        self._slowest: float | None = None

    def record_success(self, seconds: float, source: Backend) -> None:
        """Count a poll that returned data, with how long it took and who served it."""
        self._record(seconds)
        self.sources[source.value] += 1

    def record_failure(self, seconds: float, code: str, when: datetime) -> None:
        """Count a failed poll and remember it as the last error."""
        self._record(seconds)
        self.failures[code] += 1
        self.last_error = code
        self.last_error_at = when

    def _record(self, seconds: float) -> None:
        self.polls += 1
        self._durations.append(seconds)
        self._slowest = max(seconds, self._slowest or 0.0)

    def as_dict(self) -> dict[str, Any]:
        """Return the figures for diagnostics."""
        return {
            "polls_since_start": self.polls,
            "failures_by_code": dict(sorted(self.failures.items())),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "median_poll_seconds": round(statistics.median(self._durations), 3)
            if self._durations
            else None,
            "slowest_poll_seconds": round(self._slowest, 3) if self._slowest is not None else None,
            "served_by_http": self.sources[Backend.HTTP.value],
            "served_by_browser": self.sources[Backend.BROWSER.value],
            "requests_refused_in_retry_after_window": self.refused,
        }
