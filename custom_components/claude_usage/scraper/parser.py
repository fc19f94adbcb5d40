"""Turn claude.ai's JSON into the shapes of the `poll` and `check` results.

Pure functions, no I/O: both backends fetch the same endpoints and hand the decoded JSON here.
Nothing from claude.ai is a published API (CLAUDE_DATA.md), so every field is optional: an
unknown or odd value becomes `None`, and only a body of the wrong type altogether is an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
import math
import re
from typing import Any, NamedTuple

from .errors import ScraperError
from .protocol import ErrorCode, WindowKind

CHAT_CAPABILITY = "chat"
PLAN_PREFIX = "claude_"
DEFAULT_EXPONENT = 2
"""Decimal places of an amount when the server does not say (cents)."""
MAX_EXPONENT = 8
"""Larger exponents are nonsense for a currency; refusing them also bounds `10 ** exponent`."""

_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_KIND_ORDER = {WindowKind.SESSION: 0, WindowKind.WEEKLY_ALL: 1, WindowKind.WEEKLY_SCOPED: 2}


class _Identity(NamedTuple):
    """What a window is, independent of where in the payload it was found."""

    key: str
    kind: WindowKind
    model: str | None


_SESSION = _Identity("session", WindowKind.SESSION, None)
_WEEKLY = _Identity("weekly", WindowKind.WEEKLY_ALL, None)
_COWORK = _Identity("weekly_cowork", WindowKind.WEEKLY_SCOPED, None)

# Legacy fields with a fixed meaning; `None` marks a field that is not a window of its own.
_LEGACY_FIELDS: dict[str, _Identity | None] = {
    "five_hour": _SESSION,
    "seven_day": _WEEKLY,
    "seven_day_oauth_apps": _Identity("weekly_oauth_apps", WindowKind.WEEKLY_SCOPED, None),
    "seven_day_cowork": _COWORK,
    # Another name seen for the cowork window; _legacy_windows drops it when both are present.
    "seven_day_routines": _COWORK,
    # Shares the main weekly pool, so a sensor for it would only repeat `weekly`.
    "seven_day_omelette": None,
}
_SCOPED_PREFIX = "seven_day_"


class _Window(NamedTuple):
    identity: _Identity
    utilization: float | None
    resets_at: str | None


# --- organizations and account -------------------------------------------------------------


def parse_organizations(payload: object) -> list[dict[str, Any]]:
    """Return every organization in `/api/organizations`, in the server's order.

    Items that are not objects with a uuid string are skipped, so one odd entry of a shape not
    seen yet cannot hide the others; but when a non-empty list holds no usable organization at
    all, the body is not what this endpoint returns and that is `bad_response`.
    """
    if not isinstance(payload, list):
        raise ScraperError(
            ErrorCode.BAD_RESPONSE,
            f"The organizations list is a JSON {_json_type(payload)}, not an array.",
        )
    organizations = [org for item in payload if (org := _organization(item)) is not None]
    if payload and not organizations:
        raise ScraperError(
            ErrorCode.BAD_RESPONSE,
            f"None of the {len(payload)} items in the organizations list has a uuid.",
        )
    return organizations


def _organization(item: object) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    uuid = _text(item.get("uuid"))
    if uuid is None:
        return None
    capabilities = _strings(item.get("capabilities"))
    return {
        "uuid": uuid,
        "name": _text(item.get("name")),
        "capabilities": capabilities,
        "plan": next((c for c in capabilities if c.startswith(PLAN_PREFIX)), None),
        "rate_limit_tier": _text(item.get("rate_limit_tier")),
    }


def pick_organization(
    organizations: list[dict[str, Any]], wanted_uuid: str | None
) -> dict[str, Any]:
    """Return the organization to read: the one asked for, else the first chat organization.

    The first item is not taken blindly: accounts often list an API-only organization first,
    and it has no subscription usage.
    """
    if wanted_uuid is not None:
        for org in organizations:
            if org.get("uuid") == wanted_uuid:
                return org
        raise ScraperError(
            ErrorCode.ORG_UNAVAILABLE,
            f"Organization {wanted_uuid} is not among this account's organizations.",
        )
    for org in organizations:
        if CHAT_CAPABILITY in org.get("capabilities", ()):
            return org
    raise ScraperError(
        ErrorCode.NO_ORGANIZATION,
        "This account has no organization with Claude chat (only API organizations, or none).",
    )


def organization_summary(org: dict[str, Any]) -> dict[str, Any]:
    """Return the `organization` object of a `poll` result."""
    return {key: org.get(key) for key in ("uuid", "name", "plan", "rate_limit_tier")}


def parse_account(payload: object) -> dict[str, Any] | None:
    """Return the `account` object of a `check` result from `/api/account`, or None if unknown."""
    if not isinstance(payload, dict):
        return None
    email = _text(payload.get("email_address")) or _text(payload.get("email"))
    return None if email is None else {"email": email}


# --- usage ---------------------------------------------------------------------------------


def parse_usage(payload: object) -> dict[str, Any]:
    """Return the usage part of a `poll` result from `/api/organizations/{uuid}/usage`."""
    if not isinstance(payload, dict):
        raise ScraperError(
            ErrorCode.BAD_RESPONSE,
            f"The usage report is a JSON {_json_type(payload)}, not an object.",
        )
    windows = _windows(payload)
    session = next((w for w in windows if w["key"] == _SESSION.key), None)
    return {
        "usage_percent": None if session is None else session["utilization"],
        "reset_time": None if session is None else session["resets_at"],
        "windows": windows,
        "extra_usage": _extra_usage(payload),
    }


def _windows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Merge the legacy fields and `limits[]` into one list, in the contract's order."""
    merged: dict[str, _Window] = {}
    # Legacy first: its float is more precise than `limits[]`'s rounded percent, which only
    # fills what the legacy field left null.
    for window in (*_legacy_windows(payload), *_limit_windows(payload.get("limits"))):
        known = merged.get(window.identity.key)
        merged[window.identity.key] = window if known is None else _fill(known, window)
    ordered = sorted(merged.values(), key=lambda w: (_KIND_ORDER[w.identity.kind], w.identity.key))
    return [_window_result(window) for window in ordered]


def _legacy_windows(payload: dict[str, Any]) -> list[_Window]:
    fields = {name: value for name, value in payload.items() if isinstance(value, dict)}
    if "seven_day_cowork" in fields:
        fields.pop("seven_day_routines", None)
    windows = []
    for name, value in fields.items():
        identity = _legacy_identity(name)
        if identity is not None:
            windows.append(_window(identity, value.get("utilization"), value.get("resets_at")))
    return windows


def _legacy_identity(name: str) -> _Identity | None:
    if name in _LEGACY_FIELDS:
        return _LEGACY_FIELDS[name]
    # Fields that are not `seven_day_<name>` are code names of unreleased features.
    if not name.startswith(_SCOPED_PREFIX):
        return None
    model = name.removeprefix(_SCOPED_PREFIX).replace("_", " ")
    return _scoped_identity(model[:1].upper() + model[1:])


def _limit_windows(limits: object) -> list[_Window]:
    if not isinstance(limits, list):
        return []
    windows = []
    for entry in limits:
        # An inactive entry describes a limit that does not apply to this plan right now.
        if not isinstance(entry, dict) or entry.get("is_active") is False:
            continue
        identity = _limit_identity(entry)
        if identity is not None:
            windows.append(_window(identity, entry.get("percent"), entry.get("resets_at")))
    return windows


def _limit_identity(entry: dict[str, Any]) -> _Identity | None:
    kind = entry.get("kind")
    if kind == "session":
        return _SESSION
    if kind == "weekly_all":
        return _WEEKLY
    if kind != "weekly_scoped":
        # `spend` is extra usage, not a window; kinds not seen yet have no key to live under.
        return None
    scope = entry.get("scope")
    model = scope.get("model") if isinstance(scope, dict) else None
    name = _text(model.get("display_name")) if isinstance(model, dict) else None
    return None if name is None else _scoped_identity(name)


def _scoped_identity(model: str) -> _Identity | None:
    """Key a per-model weekly window by its model name ("Opus 4.5" -> `weekly_opus_4_5`).

    ASCII only, because the key ends up in entity unique ids; a name with nothing left after
    that has no usable key and is dropped.
    """
    model = model.strip()
    slug = _NON_ALPHANUMERIC.sub("_", model.lower()).strip("_")
    if not slug:
        return None
    return _Identity(f"weekly_{slug}", WindowKind.WEEKLY_SCOPED, model)


def _window(identity: _Identity, utilization: object, resets_at: object) -> _Window:
    return _Window(identity, _number(utilization), _timestamp(resets_at))


def _fill(known: _Window, other: _Window) -> _Window:
    return known._replace(
        utilization=other.utilization if known.utilization is None else known.utilization,
        resets_at=other.resets_at if known.resets_at is None else known.resets_at,
    )


def _window_result(window: _Window) -> dict[str, Any]:
    return {
        "key": window.identity.key,
        "kind": window.identity.kind.value,
        "model": window.identity.model,
        "utilization": window.utilization,
        "remaining": _remaining(window.utilization),
        "resets_at": window.resets_at,
    }


def _remaining(utilization: float | None) -> float | None:
    if utilization is None:
        return None
    # Subtract in decimal so 100 - 57.99 reads 42.01, not 42.010000000000005, in HA's history.
    return max(0.0, float(Decimal(100) - Decimal(repr(utilization))))


# --- extra usage ---------------------------------------------------------------------------


def _extra_usage(payload: dict[str, Any]) -> dict[str, Any] | None:
    extra = payload.get("extra_usage")
    if isinstance(extra, dict):
        return _from_extra_usage(extra)
    spend = payload.get("spend")
    if isinstance(spend, dict):
        return _from_spend(spend)
    return None


def _from_extra_usage(extra: dict[str, Any]) -> dict[str, Any]:
    exponent = _exponent(extra.get("decimal_places"), DEFAULT_EXPONENT)
    return _extra_result(
        enabled=extra.get("is_enabled"),
        used=_major_units(extra.get("used_credits"), exponent),
        limit=_major_units(extra.get("monthly_limit"), exponent),
        utilization=extra.get("utilization"),
        currency=extra.get("currency"),
    )


def _from_spend(spend: dict[str, Any]) -> dict[str, Any]:
    used = spend.get("used")
    used_fields = used if isinstance(used, dict) else {}
    # A bare-number limit is taken in the same minor units as `used`, the unit of every other
    # amount in this object.
    exponent = _exponent(used_fields.get("exponent"), DEFAULT_EXPONENT)
    return _extra_result(
        enabled=spend.get("enabled"),
        used=_spend_amount(used, exponent),
        limit=_spend_amount(spend.get("limit"), exponent),
        utilization=spend.get("percent"),
        currency=used_fields.get("currency"),
    )


def _spend_amount(value: object, exponent: int) -> float | None:
    """Read `{amount_minor, currency, exponent}` or a bare number of minor units."""
    if isinstance(value, dict):
        return _major_units(value.get("amount_minor"), _exponent(value.get("exponent"), exponent))
    return _major_units(value, exponent)


def _extra_result(
    *,
    enabled: object,
    used: float | None,
    limit: float | None,
    utilization: object,
    currency: object,
) -> dict[str, Any]:
    return {
        "enabled": enabled if isinstance(enabled, bool) else None,
        "used": used,
        "limit": limit,
        "utilization": _number(utilization),
        "currency": _text(currency),
    }


def _exponent(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EXPONENT:
        return value
    return default


def _major_units(minor: object, exponent: int) -> float | None:
    amount = _number(minor)
    if amount is None:
        return None
    # Rounded to the currency's precision: a float in minor units would otherwise print as
    # 3.4699999999 instead of 3.47.
    scale: int = 10**exponent
    return round(amount / scale, exponent)


# --- scalar values -------------------------------------------------------------------------


def _number(value: object) -> float | None:
    """Read a finite number sent as an int, a float or a numeric string; anything else is None."""
    # bool is an int subclass, but `true` is no percentage.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # not numeric; an int too large for a float
        return None
    return number if math.isfinite(number) else None


def _timestamp(value: object) -> str | None:
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


def _text(value: object) -> str | None:
    """Return a non-blank string as it was sent, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _json_type(value: object) -> str:
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
