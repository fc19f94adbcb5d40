"""A deadline that every network step of one command shares."""

from __future__ import annotations

import time


class Deadline:
    """Seconds left until a fixed point on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Return the seconds left, never negative."""
        return max(0.0, self._end - time.monotonic())

    def budget(self, reserve: float = 0.0, cap: float | None = None) -> float:
        """Return the time one step may take: what is left less `reserve`, at most `cap`."""
        left = max(0.05, self.remaining() - reserve)
        return left if cap is None else min(left, cap)
