"""Pace and forecast: where each usage window is heading, from its data and the time.

Pure functions, so that the entities can recompute them whenever the clock moves (a poll comes
only every few minutes) and the tests can pin them with a frozen clock. "Pace" is the average
rate of use since the window started: the window's utilization over the time it has run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .models import UsageWindow
from .scraper.protocol import WindowKind

LIMIT = 100.0

WINDOW_LENGTHS: dict[str, timedelta] = {
    WindowKind.SESSION: timedelta(hours=5),
    WindowKind.WEEKLY_ALL: timedelta(days=7),
    WindowKind.WEEKLY_SCOPED: timedelta(days=7),
}
"""How long each kind of window runs; windows of other kinds have no known length."""

EARLY_FRACTION = 0.1
"""Before a tenth of the window has passed, the average rate says too little to project."""


def window_length(window: UsageWindow) -> timedelta | None:
    """Return how long the window runs, or None when its kind has no known length."""
    return WINDOW_LENGTHS.get(window.kind)


def _elapsed(window: UsageWindow, now: datetime) -> tuple[float, timedelta, timedelta] | None:
    """Return (utilization, time elapsed, window length) when a pace can be told, else None."""
    length = window_length(window)
    if length is None or window.utilization is None or window.resets_at is None:
        return None
    # Data a poll brought in before the reset passed: the whole window has run.
    elapsed = min(length, length - (window.resets_at - now))
    if elapsed < length * EARLY_FRACTION:
        return None
    return window.utilization, elapsed, length


def _projection(window: UsageWindow, now: datetime) -> float | None:
    if window_length(window) is not None and (window.utilization or 0) >= LIMIT:
        return window.utilization
    if (pace := _elapsed(window, now)) is None:
        return None
    utilization, elapsed, length = pace
    return utilization * (length / elapsed)


def projected(window: UsageWindow, now: datetime) -> float | None:
    """Return the % the window will reach at its reset if use goes on at the pace so far.

    Unknown (None) while the window is idle, during its first tenth, and for a window of
    unknown length; the current utilization once that is at or over the limit. Rounded to a
    tenth, so that the state changes as the clock moves only when the figure does.
    """
    value = _projection(window, now)
    return None if value is None else round(value, 1)


def limit_at(window: UsageWindow, now: datetime) -> datetime | None:
    """Return when the window reaches the limit at its pace, if that is before it resets.

    None when it will not, when no pace can be told, and when it is at the limit already
    (the moment has passed; `limit_reached` says so).
    """
    if (pace := _elapsed(window, now)) is None:
        return None
    utilization, elapsed, _ = pace
    if utilization <= 0 or utilization >= LIMIT:
        return None
    moment = now + elapsed * ((LIMIT - utilization) / utilization)
    assert window.resets_at is not None  # _elapsed() returns None for an idle window
    if moment > window.resets_at:
        return None
    return moment.replace(microsecond=0)


def limit_forecast(windows: Iterable[UsageWindow], now: datetime) -> bool:
    """Return True while any window is projected to reach the limit before it resets."""
    return any(
        (value := _projection(window, now)) is not None and value >= LIMIT for window in windows
    )


def limit_expected_at(windows: Iterable[UsageWindow], now: datetime) -> datetime | None:
    """Return the earliest moment a window reaches the limit at its pace; None when none will."""
    return min(
        (moment for window in windows if (moment := limit_at(window, now)) is not None),
        default=None,
    )
