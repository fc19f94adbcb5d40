"""Scalar values from claude.ai's JSON: every field is optional and odd values become None."""

from __future__ import annotations

from datetime import UTC, datetime
import math


def number(value: object) -> float | None:
    """Read a finite number sent as an int, a float or a numeric string; anything else is None."""
    # bool is an int subclass, but `true` is no percentage.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        parsed = float(value)
    except (ValueError, OverflowError):  # not numeric; an int too large for a float
        return None
    return parsed if math.isfinite(parsed) else None


def timestamp(value: object) -> str | None:
    """Normalise an ISO 8601 time to one with an offset; a time without one is taken as UTC."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def text(value: object) -> str | None:
    """Return a non-blank string as it was sent, else None."""
    return value if isinstance(value, str) and value.strip() else None


def strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def json_type(value: object) -> str:
    """Name a decoded JSON value's type, for an error message that must not quote the body."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__
