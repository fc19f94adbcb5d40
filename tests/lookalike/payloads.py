"""Realistic claude.ai JSON payloads, built relative to "now".

Every shape described in /work/shared/CLAUDE_DATA.md has a builder here, so tests can import the
exact dictionary the look-alike serves and compare the scraper's output against it. The builders
are pure: the same ``now`` gives the same payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import secrets
from typing import Any, Final

type JSONObject = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Names other engineers code against.
# ---------------------------------------------------------------------------------------------

USAGE_2026: Final = "2026"
USAGE_LEGACY_2025: Final = "legacy_2025"
USAGE_LIMITS_ONLY: Final = "limits_only"
USAGE_NO_LEGACY_WINDOWS: Final = "no_legacy_windows"
USAGE_IDLE: Final = "idle"
USAGE_STRING_UTILIZATION: Final = "string_utilization"
USAGE_EXTRA_OVER_100: Final = "extra_over_100"
USAGE_SPEND_ONLY: Final = "spend_only"
USAGE_UNKNOWN_KEYS: Final = "unknown_keys"
USAGE_SURFACE_SCOPED: Final = "surface_scoped"
USAGE_NEW_KINDS: Final = "new_kinds"
USAGE_FREE: Final = "free"
# Reported by LookalikeServer.usage_shape after set_usage() replaced the served payload.
USAGE_CUSTOM: Final = "custom"

USAGE_SHAPES: Final = (
    USAGE_2026,
    USAGE_LEGACY_2025,
    USAGE_LIMITS_ONLY,
    USAGE_NO_LEGACY_WINDOWS,
    USAGE_IDLE,
    USAGE_STRING_UTILIZATION,
    USAGE_EXTRA_OVER_100,
    USAGE_SPEND_ONLY,
    USAGE_UNKNOWN_KEYS,
    USAGE_SURFACE_SCOPED,
    USAGE_NEW_KINDS,
    USAGE_FREE,
)

ORGS_DEFAULT: Final = "default"
ORGS_MULTI_CHAT: Final = "multi_chat"
ORGS_API_ONLY: Final = "api_only"
ORGS_FREE: Final = "free"
ORGANIZATION_PRESETS: Final = (ORGS_DEFAULT, ORGS_MULTI_CHAT, ORGS_API_ONLY, ORGS_FREE)

API_ORG_UUID: Final = "0b7c4a2e-3f1d-4c9a-8e5b-6d2f1a9c3e70"
CHAT_ORG_UUID: Final = "631972a6-6d0c-4e3a-9b8e-2f1c5d7a9e41"
TEAM_ORG_UUID: Final = "e4a1c9d2-7b35-4f68-a0d3-95c2b8e1f607"
CHAT_ORG_NAME: Final = "Jane's Organization"
TEAM_ORG_NAME: Final = "Acme Robotics"
API_ORG_NAME: Final = "Jane Doe (API)"

ACCOUNT_UUID: Final = "5d0e8f3a-91c4-4b7e-a2d6-c38f0e71b94d"
DEMO_EMAIL: Final = "jane@example.com"
DEMO_FULL_NAME: Final = "Jane Doe"
# Both key generations are accepted by default so a scraper that hard-codes one prefix fails.
DEMO_SESSION_KEY: Final = (
    "sk-ant-sid02-lookalike-demo-Q2xhdWRlVXNhZ2VMb29rQWxpa2VEZW1vU2Vzc2lvbktleQ-7kQ2AA"
)
LEGACY_SESSION_KEY: Final = (
    "sk-ant-sid01-lookalike-legacy-T2xkZXJLZXlGb3JtYXRTdGlsbEFjY2VwdGVkQnlDbGF1ZGU-Xz9pAA"
)

SESSION_WINDOW: Final = timedelta(hours=5)
# Claude's reset timestamps sit on a boundary plus a few hundred milliseconds of jitter.
_SESSION_MICROS: Final = 261810
_WEEKLY_MICROS: Final = 261832


# ---------------------------------------------------------------------------------------------
# Small pieces
# ---------------------------------------------------------------------------------------------


def utc_now() -> datetime:
    """Return the current time, timezone-aware."""
    return datetime.now(UTC)


# The "now" that payloads are built from when no time is given. It is fixed per process so that
# a server's payload and the one a test builds a moment later to compare are identical, even
# across an hour boundary; long-running servers move it forward (refresh_stale_anchor).
_anchor: datetime = utc_now()
ANCHOR_MAX_AGE: Final = timedelta(hours=1)


def anchor_time() -> datetime:
    """The default "now" of every builder here."""
    return _anchor


def refresh_stale_anchor(now: datetime | None = None) -> bool:
    """Move the anchor to now when it is older than ``ANCHOR_MAX_AGE``; True when moved."""
    global _anchor  # noqa: PLW0603 - one process-wide clock for all builders
    now = now or utc_now()
    if now - _anchor <= ANCHOR_MAX_AGE:
        return False
    _anchor = now
    return True


def iso(moment: datetime | None) -> str | None:
    """Format like claude.ai: ``2026-08-23T15:00:00.261810+00:00``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def session_reset(now: datetime) -> datetime:
    """Reset of a session that started a while ago: two to three hours ahead, on the hour."""
    return (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=_SESSION_MICROS)


def weekly_reset(now: datetime) -> datetime:
    """Reset of the weekly windows: a few days ahead at a fixed hour."""
    base = now + timedelta(days=3, hours=18)
    return base.replace(minute=0, second=0, microsecond=_WEEKLY_MICROS)


def window(utilization: float | int | str, resets_at: datetime | None) -> JSONObject:
    """A 2026 plan window; the dollar fields exist but are always null."""
    return {
        "utilization": utilization,
        "resets_at": iso(resets_at),
        "limit_dollars": None,
        "used_dollars": None,
        "remaining_dollars": None,
    }


def legacy_window(utilization: float | int | str, resets_at: datetime | None) -> JSONObject:
    """A 2025 window: just the two fields."""
    return {"utilization": utilization, "resets_at": iso(resets_at)}


def _severity(percent: int) -> str:
    if percent >= 90:
        return "critical"
    if percent >= 75:
        return "warning"
    return "normal"


def limit(
    kind: str,
    percent: int,
    resets_at: datetime | None,
    *,
    model: str | None = None,
    surface: str | JSONObject | None = None,
    is_active: bool = True,
) -> JSONObject:
    """One ``limits[]`` entry; ``percent`` is the rounded integer claude.ai sends.

    A surface-scoped entry (since September 2026) has a null model and names the product in
    ``scope.surface``: its exact shape is not public, so builders pass a string or an object.
    """
    groups = {"session": "session", "weekly_all": "weekly", "weekly_scoped": "weekly"}
    scope: JSONObject | None = None
    if model is not None:
        scope = {"model": {"id": f"claude-{model.lower()}", "display_name": model}}
    if surface is not None:
        scope = {"model": None, "surface": surface}
    return {
        "kind": kind,
        "group": groups.get(kind, kind),
        "percent": percent,
        "severity": _severity(percent),
        "resets_at": iso(resets_at),
        "scope": scope,
        "is_active": is_active,
    }


def extra_usage(
    *, used_minor: float, limit_minor: int, currency: str = "USD", enabled: bool = True
) -> JSONObject:
    """The ``extra_usage`` object: amounts in minor units, utilization may exceed 100."""
    return {
        "is_enabled": enabled,
        "monthly_limit": limit_minor,
        "used_credits": used_minor,
        "utilization": round(used_minor / limit_minor * 100, 2),
        "currency": currency,
        "decimal_places": 2,
        "disabled_reason": None,
        "daily": None,
        "weekly": None,
    }


def extra_usage_disabled() -> JSONObject:
    """Extra usage switched off by the person (fields null, reason given)."""
    return {
        "is_enabled": False,
        "monthly_limit": None,
        "used_credits": None,
        "utilization": None,
        "currency": None,
        "decimal_places": 2,
        "disabled_reason": "user_disabled",
        "daily": None,
        "weekly": None,
    }


def _money(amount_minor: int, currency: str) -> JSONObject:
    return {"amount_minor": amount_minor, "currency": currency, "exponent": 2}


def spend(*, used_minor: int, limit_minor: int | None, currency: str = "USD") -> JSONObject:
    """The newer ``spend`` view of extra usage."""
    percent = round(used_minor / limit_minor * 100, 2) if limit_minor else None
    return {
        "used": _money(used_minor, currency),
        "limit": _money(limit_minor, currency) if limit_minor is not None else None,
        "percent": percent,
        "enabled": True,
        "period": "monthly",
    }


# ---------------------------------------------------------------------------------------------
# Usage payloads, one builder per shape
# ---------------------------------------------------------------------------------------------


def _payload_2026(
    now: datetime,
    *,
    session: float,
    weekly: float,
    sonnet: float | None,
    opus: float | None = None,
    used_minor: float = 347.0,
    limit_minor: int = 2050,
    session_resets: datetime | None = None,
) -> JSONObject:
    """A Max account in late 2026: legacy fields and ``limits[]`` side by side."""
    s_reset = session_resets or session_reset(now)
    w_reset = weekly_reset(now)
    extra = extra_usage(used_minor=used_minor, limit_minor=limit_minor)
    limits = [
        limit("session", round(session), s_reset),
        limit("weekly_all", round(weekly), w_reset),
    ]
    if sonnet is not None:
        limits.append(limit("weekly_scoped", round(sonnet), w_reset, model="Sonnet"))
    if opus is not None:
        limits.append(limit("weekly_scoped", round(opus), w_reset, model="Opus"))
    else:
        # A scoped limit the plan does not currently enforce: not a window.
        limits.append(limit("weekly_scoped", 0, None, model="Opus", is_active=False))
    limits.append(limit("spend", round(extra["utilization"]), None))
    return {
        "five_hour": window(session, s_reset),
        "seven_day": window(weekly, w_reset),
        "seven_day_oauth_apps": None,
        "seven_day_opus": window(opus, w_reset) if opus is not None else None,
        "seven_day_sonnet": window(sonnet, w_reset) if sonnet is not None else None,
        "seven_day_cowork": None,
        "seven_day_omelette": None,
        "iguana_necktie": None,
        "extra_usage": extra,
        "limits": limits,
        "spend": spend(used_minor=round(used_minor), limit_minor=limit_minor),
    }


def _usage_2026(now: datetime) -> JSONObject:
    return _payload_2026(now, session=16.0, weekly=42.0, sonnet=31.0)


def _usage_legacy_2025(now: datetime) -> JSONObject:
    w_reset = weekly_reset(now)
    return {
        "five_hour": legacy_window(37.0, session_reset(now)),
        "seven_day": legacy_window(58.0, w_reset),
        "seven_day_oauth_apps": None,
        "seven_day_opus": legacy_window(12.0, w_reset),
        "extra_usage": None,
    }


def _usage_limits_only(now: datetime) -> JSONObject:
    s_reset, w_reset = session_reset(now), weekly_reset(now)
    return {
        "five_hour": window(23.0, s_reset),
        "seven_day": window(47.0, w_reset),
        "seven_day_oauth_apps": None,
        "seven_day_opus": None,
        "seven_day_sonnet": None,
        "seven_day_cowork": None,
        "seven_day_omelette": None,
        "extra_usage": extra_usage_disabled(),
        "limits": [
            limit("session", 23, s_reset),
            limit("weekly_all", 47, w_reset),
            limit("weekly_scoped", 35, w_reset, model="Sonnet"),
            limit("weekly_scoped", 18, w_reset, model="Opus"),
            limit("weekly_scoped", 4, w_reset, model="Haiku"),
        ],
        "spend": None,
    }


def _usage_no_legacy_windows(now: datetime) -> JSONObject:
    """Every legacy window null: session and weekly exist only in ``limits[]``."""
    payload = _usage_limits_only(now)
    payload["five_hour"] = None
    payload["seven_day"] = None
    return payload


def _usage_idle(now: datetime) -> JSONObject:
    del now  # idle windows carry no timestamps at all
    return {
        "five_hour": window(0.0, None),
        "seven_day": window(0, None),
        "seven_day_oauth_apps": None,
        "seven_day_opus": None,
        "seven_day_sonnet": None,
        "seven_day_cowork": None,
        "seven_day_omelette": None,
        "extra_usage": extra_usage_disabled(),
        "limits": [limit("session", 0, None), limit("weekly_all", 0, None)],
        "spend": None,
    }


def _usage_string_utilization(now: datetime) -> JSONObject:
    w_reset = weekly_reset(now)
    extra = extra_usage(used_minor=347.0, limit_minor=2050)
    extra["utilization"] = "16.93"
    return {
        "five_hour": window("16.0", session_reset(now)),
        "seven_day": window("42", w_reset),
        "seven_day_oauth_apps": None,
        "seven_day_opus": None,
        "seven_day_sonnet": window("31.5", w_reset),
        "extra_usage": extra,
    }


def _usage_extra_over_100(now: datetime) -> JSONObject:
    # Extra usage only runs once a plan limit is hit, so the session sits at 100 too.
    payload = _payload_2026(
        now, session=100.0, weekly=71.0, sonnet=64.0, used_minor=2250.0, limit_minor=2000
    )
    assert payload["extra_usage"]["utilization"] == 112.5
    return payload


def _usage_spend_only(now: datetime) -> JSONObject:
    payload = _payload_2026(now, session=9.0, weekly=27.0, sonnet=12.0)
    payload["extra_usage"] = None
    payload["spend"] = spend(used_minor=1234, limit_minor=5000, currency="EUR")
    payload["limits"][-1] = limit("spend", 25, None)
    return payload


def _usage_unknown_keys(now: datetime) -> JSONObject:
    s_reset, w_reset = session_reset(now), weekly_reset(now)
    five_hour = window(16.0, s_reset) | {"window_minutes": 300, "burst": {"shape": "leaky"}}
    extra = extra_usage(used_minor=347.0, limit_minor=2050)
    extra |= {"overage_mode": "soft", "breakdown": {"chat": 200, "code": 147}}
    odd_limit = limit("weekly_all", 42, w_reset) | {"hint": {"tier": "max_5x"}}
    return {
        "five_hour": five_hour,
        "seven_day": window(42.0, w_reset),
        "seven_day_oauth_apps": None,
        "seven_day_opus": None,
        "seven_day_sonnet": None,
        # Code names: the first shares the main pool, the second is not a seven_day window.
        "seven_day_omelette": window(42.0, w_reset),
        "tangelo": {"utilization": 77.0, "resets_at": iso(s_reset), "mode": "shadow"},
        # A model nobody has heard of yet: a real window, named after the key.
        "seven_day_foo": window(5.0, w_reset),
        "extra_usage": extra,
        "limits": [
            limit("session", 16, s_reset),
            odd_limit,
            {"kind": "daily_burst", "group": "burst", "percent": 3, "resets_at": None},
            limit("spend", 17, None),
        ],
        "spend": spend(used_minor=347, limit_minor=2050) | {"forecast": {"end_of_month": 910}},
        "feature_flags": ["usage_v3", "limits_panel"],
        "schema_version": 7,
    }


def _usage_surface_scoped(now: datetime) -> JSONObject:
    """A Max account with weekly limits per product (surface) beside the per-model one."""
    payload = _payload_2026(now, session=21.0, weekly=44.0, sonnet=30.0)
    w_reset = weekly_reset(now)
    code = {"id": "claude_code", "display_name": "Claude Code"}
    payload["limits"][3:3] = [
        limit("weekly_scoped", 38, w_reset, surface=code),
        limit("weekly_scoped", 9, w_reset, surface={"id": "claude_in_chrome"}),
        limit("weekly_scoped", 0, None, surface="Claude Desktop"),
        # Not enforced on this plan: not a window.
        limit("weekly_scoped", 0, None, surface="Claude Design", is_active=False),
    ]
    return payload


def _usage_new_kinds(now: datetime) -> JSONObject:
    """Kinds of limit not seen before 2026-10: each active one with a figure is a window."""
    payload = _payload_2026(now, session=8.0, weekly=19.0, sonnet=None)
    s_reset = session_reset(now)
    payload["limits"][2:2] = [
        limit("daily_routines", 40, s_reset.replace(hour=0) + timedelta(days=1)),
        limit("daily", 12, s_reset, model="Opus"),
        limit("monthly", 3, None, surface={"id": "design", "display_name": "Claude Design"}),
        # No figure yet, inactive, or nothing usable for a key: not windows.
        {"kind": "hourly_burst", "group": "burst", "percent": None, "is_active": True},
        limit("weekly_research", 5, None, is_active=False),
        limit("日次", 7, None),
    ]
    return payload


def _usage_free(now: datetime) -> JSONObject:
    """A Free account: 200 with every window null and no limits."""
    del now  # nothing here has a time
    return {
        "five_hour": None,
        "seven_day": None,
        "seven_day_oauth_apps": None,
        "seven_day_opus": None,
        "seven_day_sonnet": None,
        "seven_day_cowork": None,
        "seven_day_omelette": None,
        "iguana_necktie": None,
        "extra_usage": None,
        "limits": [],
        "spend": None,
    }


_BUILDERS: Final = {
    USAGE_2026: _usage_2026,
    USAGE_LEGACY_2025: _usage_legacy_2025,
    USAGE_LIMITS_ONLY: _usage_limits_only,
    USAGE_NO_LEGACY_WINDOWS: _usage_no_legacy_windows,
    USAGE_IDLE: _usage_idle,
    USAGE_STRING_UTILIZATION: _usage_string_utilization,
    USAGE_EXTRA_OVER_100: _usage_extra_over_100,
    USAGE_SPEND_ONLY: _usage_spend_only,
    USAGE_UNKNOWN_KEYS: _usage_unknown_keys,
    USAGE_SURFACE_SCOPED: _usage_surface_scoped,
    USAGE_NEW_KINDS: _usage_new_kinds,
    USAGE_FREE: _usage_free,
}


def usage_payload(shape: str = USAGE_2026, now: datetime | None = None) -> JSONObject:
    """The ``/api/organizations/{uuid}/usage`` body for ``shape`` (see ``USAGE_SHAPES``).

    Without ``now`` it is built from ``anchor_time()``, so it equals what the look-alike serves.
    """
    try:
        builder = _BUILDERS[shape]
    except KeyError:
        raise ValueError(f"unknown usage shape {shape!r}; expected one of {USAGE_SHAPES}") from None
    return builder(now or anchor_time())


def team_usage_payload(now: datetime | None = None) -> JSONObject:
    """What the Team organization reports: distinct figures, extra usage is the org's total."""
    now = now or anchor_time()
    payload = _payload_2026(
        now, session=64.0, weekly=23.0, sonnet=None, used_minor=12890.0, limit_minor=50000
    )
    payload["spend"] = spend(used_minor=12890, limit_minor=50000)
    return payload


# ---------------------------------------------------------------------------------------------
# Demo: usage that moves between polls
# ---------------------------------------------------------------------------------------------

DEMO_SESSION_START: Final = 12.0
# Deterministic steps so a test can predict the n-th response.
DEMO_SESSION_STEPS: Final = (4.0, 6.5, 3.0, 5.5)
# Responses after this many usage requests include the weekly Opus window.
DEMO_OPUS_AFTER_REQUESTS: Final = 3
# ... and after this many, the weekly Claude Code limit (scoped by surface, not model).
DEMO_SURFACE_AFTER_REQUESTS: Final = 5
DEMO_SURFACE: Final = {"id": "claude_code", "display_name": "Claude Code"}


@dataclass
class DemoUsage:
    """Usage that advances with every usage request, for the demo and for polling tests.

    Response n (1-based) shows the session at its value after n - 1 steps. A session that
    reached 100 % is shown once at 100 (limit reached), then starts a new window at 0; so does
    a session whose reset time has passed.
    """

    requests: int = 0
    session: float = DEMO_SESSION_START
    weekly: float = 31.0
    sonnet: float = 22.0
    opus: float = 2.0
    code: float = 7.0
    session_resets: datetime = field(default_factory=lambda: session_reset(utc_now()))

    def _advance(self, now: datetime) -> None:
        step = DEMO_SESSION_STEPS[(self.requests - 1) % len(DEMO_SESSION_STEPS)]
        if self.session >= 100.0 or now >= self.session_resets:
            self.session = 0.0
            self.session_resets = now + SESSION_WINDOW
        else:
            self.session = min(100.0, round(self.session + step, 1))
        if self.weekly >= 100.0:  # a demo left running for days starts a new week
            self.weekly, self.sonnet, self.opus, self.code = 0.0, 0.0, 0.0, 0.0
        self.weekly = min(100.0, round(self.weekly + step / 8, 1))
        self.sonnet = min(100.0, round(self.sonnet + step / 10, 1))
        if self.requests > DEMO_OPUS_AFTER_REQUESTS + 1:  # first shown at its start value
            self.opus = min(100.0, round(self.opus + step / 4, 1))
        if self.requests > DEMO_SURFACE_AFTER_REQUESTS + 1:
            self.code = min(100.0, round(self.code + step / 2, 1))

    def current_payload(self, now: datetime | None = None) -> JSONObject:
        """What the latest response showed (the starting point before any), without advancing."""
        now = now or utc_now()
        payload = _payload_2026(
            now,
            session=self.session,
            weekly=self.weekly,
            sonnet=self.sonnet,
            opus=self.opus if self.requests > DEMO_OPUS_AFTER_REQUESTS else None,
            session_resets=self.session_resets,
        )
        if self.requests > DEMO_SURFACE_AFTER_REQUESTS:
            code = limit("weekly_scoped", round(self.code), weekly_reset(now), surface=DEMO_SURFACE)
            payload["limits"].insert(-1, code)
        return payload

    def next_payload(self, now: datetime | None = None) -> JSONObject:
        """Serve one usage request: advance (except for the first), then build."""
        now = now or utc_now()
        self.requests += 1
        if self.requests > 1:
            self._advance(now)
        return self.current_payload(now)


# ---------------------------------------------------------------------------------------------
# Organizations, account and the optional extras
# ---------------------------------------------------------------------------------------------


def _organization(
    uuid: str,
    *,
    org_id: int,
    name: str,
    capabilities: list[str],
    rate_limit_tier: str,
    billing_type: str | None,
) -> JSONObject:
    return {
        "id": org_id,
        "uuid": uuid,
        "name": name,
        "settings": {"claude_console_privacy": "default_private"},
        "capabilities": capabilities,
        "parent_organization_uuid": None,
        "rate_limit_tier": rate_limit_tier,
        "billing_type": billing_type,
        "free_credits_status": None,
        "data_retention": "default",
        "api_disabled_reason": None,
        "api_disabled_until": None,
        "billable_usage_paused_until": None,
        "raven_type": "team" if "claude_team" in capabilities else None,
        "merchant_of_record": "stripe",
        "created_at": "2024-03-14T09:26:53.589793+00:00",
        "updated_at": "2026-07-02T17:45:12.004418+00:00",
        "active_flags": [],
    }


def api_organization() -> JSONObject:
    """An API-only organization (Console): no ``chat`` capability."""
    return _organization(
        API_ORG_UUID,
        org_id=48213377,
        name=API_ORG_NAME,
        capabilities=["api", "api_individual"],
        rate_limit_tier="auto_prepaid_tier_0",
        billing_type="prepaid",
    )


def chat_organization() -> JSONObject:
    """The personal Max organization."""
    return _organization(
        CHAT_ORG_UUID,
        org_id=51122946,
        name=CHAT_ORG_NAME,
        capabilities=["chat", "claude_max"],
        rate_limit_tier="default_claude_max_5x",
        billing_type="stripe_subscription",
    )


def team_organization() -> JSONObject:
    """A Team organization the person is a member of."""
    return _organization(
        TEAM_ORG_UUID,
        org_id=60871204,
        name=TEAM_ORG_NAME,
        capabilities=["chat", "claude_team"],
        rate_limit_tier="default_raven",
        billing_type="stripe_subscription",
    )


def free_organization() -> JSONObject:
    """A Free personal organization: chat, but no ``claude_`` plan capability."""
    return _organization(
        CHAT_ORG_UUID,
        org_id=51122946,
        name=CHAT_ORG_NAME,
        capabilities=["chat"],
        rate_limit_tier="default_claude_ai",
        billing_type=None,
    )


def organizations_payload(preset: str = ORGS_DEFAULT) -> list[JSONObject]:
    """The ``/api/organizations`` list; the API-only organization always comes first."""
    if preset == ORGS_DEFAULT:
        return [api_organization(), chat_organization()]
    if preset == ORGS_MULTI_CHAT:
        return [api_organization(), chat_organization(), team_organization()]
    if preset == ORGS_API_ONLY:
        return [api_organization()]
    if preset == ORGS_FREE:
        return [free_organization()]
    raise ValueError(f"unknown organizations preset {preset!r}; expected {ORGANIZATION_PRESETS}")


def account_payload(
    organizations: list[JSONObject], email: str = DEMO_EMAIL, full_name: str = DEMO_FULL_NAME
) -> JSONObject:
    """The ``/api/account`` body."""
    memberships = [
        {
            "organization": {"uuid": org["uuid"], "name": org["name"]},
            "role": "admin" if org["uuid"] != TEAM_ORG_UUID else "user",
            "created_at": org["created_at"],
        }
        for org in organizations
    ]
    return {
        "uuid": ACCOUNT_UUID,
        "email_address": email,
        "full_name": full_name,
        "display_name": full_name.split(maxsplit=1)[0],
        "is_verified": True,
        "age_is_verified": True,
        "created_at": "2024-03-14T09:26:53.412095+00:00",
        "updated_at": "2026-07-02T17:45:12.004418+00:00",
        "settings": {"preview_feature_uses_artifacts": True, "enabled_web_search": True},
        "memberships": memberships,
    }


def overage_spend_limit_payload(org_uuid: str) -> JSONObject:
    """The ``/api/organizations/{uuid}/overage_spend_limit`` body."""
    return {
        "organization_uuid": org_uuid,
        "limit_type": "organization",
        "is_enabled": True,
        "monthly_credit_limit": 2050,
        "currency": "USD",
        "used_credits": 347,
        "disabled_reason": None,
    }


def overage_credit_grant_payload(org_uuid: str) -> JSONObject:
    """The ``/api/organizations/{uuid}/overage_credit_grant`` body."""
    return {"organization_uuid": org_uuid, "grant": None, "eligible": False}


def prepaid_credits_payload(org_uuid: str) -> JSONObject:
    """The ``/api/organizations/{uuid}/prepaid/credits`` body."""
    del org_uuid
    return {"amount": 0, "currency": "USD", "auto_reload_settings": None, "pending_invoices": []}


# ---------------------------------------------------------------------------------------------
# Error bodies
# ---------------------------------------------------------------------------------------------


def error_payload(error_type: str, message: str, error_code: str | None = None) -> JSONObject:
    """claude.ai's error envelope."""
    error: JSONObject = {"type": error_type, "message": message}
    if error_code is not None:
        error["details"] = {"error_visibility": "user_facing", "error_code": error_code}
    return {"type": "error", "error": error, "request_id": f"req_011C{secrets.token_hex(10)}"}


def session_expired_error() -> JSONObject:
    """403 body for an expired or signed-out session."""
    return error_payload("permission_error", "Invalid authorization", "account_session_invalid")


def unauthorized_error() -> JSONObject:
    """401 body."""
    return error_payload("authentication_error", "There was an error authenticating you.")


def wrong_org_error() -> JSONObject:
    """403 body for an organization the session may not read."""
    return error_payload("permission_error", "Invalid authorization for organization")


def rate_limited_error() -> JSONObject:
    """429 body."""
    return error_payload("rate_limit_error", "Rate limited. Please try again later.")
