"""Typed results of the scraper, validated from its JSON output.

The scraper's JSON is a contract (ARCHITECTURE.md); the schemas here accept unknown keys, so a
newer scraper can add fields, and reject anything the integration would misread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.util import dt as dt_util
import voluptuous as vol

from .scraper.protocol import Backend, WindowKind


def _timestamp(value: Any) -> datetime:
    """Parse an ISO 8601 timestamp that carries its offset."""
    if not isinstance(value, str) or (parsed := dt_util.parse_datetime(value)) is None:
        raise vol.Invalid(f"not an ISO 8601 timestamp: {value!r}")
    if parsed.tzinfo is None:
        raise vol.Invalid("timestamp without an offset")
    return parsed


_PERCENT = vol.Any(None, vol.All(vol.Any(int, float), vol.Coerce(float)))
_OPTIONAL_TIMESTAMP = vol.Any(None, _timestamp)
_OPTIONAL_STR = vol.Any(None, str)

ORGANIZATION_SCHEMA = vol.Schema(
    {
        vol.Required("uuid"): vol.All(str, vol.Length(min=1)),
        vol.Optional("name"): _OPTIONAL_STR,
        vol.Optional("plan"): _OPTIONAL_STR,
        vol.Optional("rate_limit_tier"): _OPTIONAL_STR,
        vol.Optional("capabilities", default=list): [str],
    },
    extra=vol.ALLOW_EXTRA,
)

WINDOW_SCHEMA = vol.Schema(
    {
        vol.Required("key"): vol.All(str, vol.Length(min=1)),
        vol.Required("kind"): vol.Coerce(WindowKind),
        vol.Optional("model"): _OPTIONAL_STR,
        vol.Optional("surface"): _OPTIONAL_STR,
        vol.Optional("utilization"): _PERCENT,
        vol.Optional("remaining"): _PERCENT,
        vol.Optional("resets_at"): _OPTIONAL_TIMESTAMP,
    },
    extra=vol.ALLOW_EXTRA,
)

EXTRA_USAGE_SCHEMA = vol.Schema(
    {
        vol.Optional("enabled", default=False): bool,
        vol.Optional("used"): _PERCENT,
        vol.Optional("limit"): _PERCENT,
        vol.Optional("utilization"): _PERCENT,
        vol.Optional("currency"): _OPTIONAL_STR,
    },
    extra=vol.ALLOW_EXTRA,
)

POLL_SCHEMA = vol.Schema(
    {
        vol.Required("source"): vol.Coerce(Backend),
        vol.Required("fetched_at"): _timestamp,
        vol.Required("organization"): ORGANIZATION_SCHEMA,
        vol.Required("windows"): [WINDOW_SCHEMA],
        vol.Optional("extra_usage"): vol.Any(None, EXTRA_USAGE_SCHEMA),
        vol.Optional("session_key"): _OPTIONAL_STR,
        vol.Optional("session_key_expires_at"): _OPTIONAL_TIMESTAMP,
    },
    extra=vol.ALLOW_EXTRA,
)

CHECK_SCHEMA = vol.Schema(
    {
        vol.Required("source"): vol.Coerce(Backend),
        vol.Optional("account"): vol.Any(
            None, vol.Schema({vol.Optional("email"): _OPTIONAL_STR}, extra=vol.ALLOW_EXTRA)
        ),
        vol.Required("organizations"): [ORGANIZATION_SCHEMA],
    },
    extra=vol.ALLOW_EXTRA,
)

LOGIN_SCHEMA = vol.Schema(
    {
        vol.Required("session_key"): vol.All(str, vol.Length(min=1)),
        vol.Optional("expires_at"): _OPTIONAL_TIMESTAMP,
    },
    extra=vol.ALLOW_EXTRA,
)


@dataclass(frozen=True, slots=True)
class Organization:
    """A claude.ai organization (personal accounts have one of their own)."""

    uuid: str
    name: str | None
    plan: str | None
    rate_limit_tier: str | None
    capabilities: tuple[str, ...] = ()

    @property
    def has_chat(self) -> bool:
        """Return True for an organization with a Claude subscription (not API-only)."""
        return "chat" in self.capabilities

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Organization:
        """Build from a validated `organization` object."""
        return cls(
            uuid=data["uuid"],
            name=data.get("name"),
            plan=data.get("plan"),
            rate_limit_tier=data.get("rate_limit_tier"),
            capabilities=tuple(data["capabilities"]),
        )


@dataclass(frozen=True, slots=True)
class UsageWindow:
    """One usage limit: the 5-hour session, the weekly limit, a scoped weekly limit, or another."""

    key: str
    kind: WindowKind
    model: str | None
    utilization: float | None
    remaining: float | None
    resets_at: datetime | None
    surface: str | None = None


@dataclass(frozen=True, slots=True)
class ExtraUsage:
    """Paid usage beyond the plan, in major units of `currency`."""

    enabled: bool
    used: float | None
    limit: float | None
    utilization: float | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class Usage:
    """The result of one `poll`."""

    source: Backend
    fetched_at: datetime
    organization: Organization
    windows: dict[str, UsageWindow]
    extra_usage: ExtraUsage | None
    session_key: str | None
    session_key_expires_at: datetime | None = None
    """When the renewed `session_key`'s cookie expires, where claude.ai set one."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """Build from a `poll` result; raises vol.Invalid on a wrong shape."""
        data = POLL_SCHEMA(data)
        extra = data.get("extra_usage")
        return cls(
            source=data["source"],
            fetched_at=data["fetched_at"],
            organization=Organization.from_dict(data["organization"]),
            windows={
                window["key"]: UsageWindow(
                    key=window["key"],
                    kind=window["kind"],
                    model=window.get("model"),
                    utilization=window.get("utilization"),
                    remaining=window.get("remaining"),
                    resets_at=window.get("resets_at"),
                    surface=window.get("surface"),
                )
                for window in data["windows"]
            },
            extra_usage=None
            if extra is None
            else ExtraUsage(
                enabled=extra["enabled"],
                used=extra.get("used"),
                limit=extra.get("limit"),
                utilization=extra.get("utilization"),
                currency=extra.get("currency"),
            ),
            session_key=data.get("session_key") or None,
            session_key_expires_at=data.get("session_key_expires_at"),
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The result of `check`: who the session belongs to and their organizations."""

    source: Backend
    email: str | None
    organizations: tuple[Organization, ...]

    @property
    def chat_organizations(self) -> tuple[Organization, ...]:
        """Return the organizations that have a Claude subscription."""
        return tuple(org for org in self.organizations if org.has_chat)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Build from a `check` result; raises vol.Invalid on a wrong shape."""
        data = CHECK_SCHEMA(data)
        account = data.get("account") or {}
        return cls(
            source=data["source"],
            email=account.get("email"),
            organizations=tuple(Organization.from_dict(org) for org in data["organizations"]),
        )


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The result of `login`: a fresh session key."""

    session_key: str
    expires_at: datetime | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoginResult:
        """Build from a `login` result; raises vol.Invalid on a wrong shape."""
        data = LOGIN_SCHEMA(data)
        return cls(session_key=data["session_key"], expires_at=data.get("expires_at"))
