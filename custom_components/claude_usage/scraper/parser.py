"""Turn claude.ai's JSON into the shapes of the `poll` and `check` results.

Pure functions, no I/O: both backends fetch the same endpoints and hand the decoded JSON here.
Nothing from claude.ai is a published API (CLAUDE_DATA.md), so every field is optional: an
unknown or odd value becomes `None`, and only a body of the wrong type altogether is an error.
"""

from __future__ import annotations

from typing import Any

from .errors import ScraperError
from .protocol import ErrorCode
from .values import json_type as _json_type, number as _number, strings as _strings, text as _text
from .windows import usage_windows

CHAT_CAPABILITY = "chat"
PLAN_PREFIX = "claude_"
DEFAULT_EXPONENT = 2
"""Decimal places of an amount when the server does not say (cents)."""
MAX_EXPONENT = 8
"""Larger exponents are nonsense for a currency; refusing them also bounds `10 ** exponent`."""

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
    windows = usage_windows(payload)
    session = next((w for w in windows if w["key"] == "session"), None)
    return {
        "usage_percent": None if session is None else session["utilization"],
        "reset_time": None if session is None else session["resets_at"],
        "windows": windows,
        "extra_usage": _extra_usage(payload),
    }


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
