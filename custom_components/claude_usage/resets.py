"""When a usage window really resets, and reset times that do not jitter.

Claude.ai's `resets_at` moves by a few seconds between polls of the same window; only a move
to a later window, or usage dropping to a fresh (idle) window, is a reset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.util import dt as dt_util

from .models import UsageWindow

RESET_JITTER = timedelta(minutes=2)
"""Reset times closer than this to the one before are the same reset."""


def steady(previous: datetime | None, current: datetime | None) -> datetime | None:
    """Return `previous` when `current` is the same reset give or take the jitter."""
    if previous is not None and current is not None and abs(current - previous) < RESET_JITTER:
        return previous
    return current


@dataclass(frozen=True, slots=True)
class SeenWindow:
    """What was last seen of a window: enough to tell its next reset."""

    resets_at: datetime | None
    utilization: float | None

    @classmethod
    def of(cls, window: UsageWindow) -> SeenWindow:
        """Remember a window as a poll reported it."""
        return cls(window.resets_at, window.utilization)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form, for Home Assistant's restore state."""
        data = asdict(self)
        data["resets_at"] = self.resets_at.isoformat() if self.resets_at else None
        return data

    @classmethod
    def from_dict(cls, data: Any) -> SeenWindow | None:
        """Read `as_dict()`'s form back; None for anything else (an older or damaged store)."""
        if not isinstance(data, dict):
            return None
        resets_at, utilization = data.get("resets_at"), data.get("utilization")
        moment = dt_util.parse_datetime(resets_at) if isinstance(resets_at, str) else None
        if (resets_at is not None and moment is None) or not (
            utilization is None or isinstance(utilization, int | float)
        ):
            return None
        return cls(moment, None if utilization is None else float(utilization))

    def reset_by(self, window: UsageWindow) -> bool:
        """Return True when `window` is a fresh window after the one seen here."""
        if self.resets_at is None:
            return False  # an idle window that starts is not a reset
        if window.resets_at is not None:
            return window.resets_at - self.resets_at >= RESET_JITTER
        # Idle now: the window ended, unless the usage is still what it was.
        return not (
            window.utilization is not None
            and self.utilization is not None
            and window.utilization >= self.utilization > 0
        )
