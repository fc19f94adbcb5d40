"""Tests for the scraper's parser: claude.ai JSON in, the contract's `poll` / `check` parts out."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.claude_usage.scraper.errors import ScraperError
from custom_components.claude_usage.scraper.parser import (
    organization_summary,
    parse_account,
    parse_organizations,
    parse_usage,
    pick_organization,
)
from custom_components.claude_usage.scraper.protocol import ErrorCode

SESSION_RESET = "2026-08-23T15:00:00.261810+00:00"
WEEKLY_RESET = "2026-08-27T09:00:00.261832+00:00"
DOLLAR_FIELDS = {"limit_dollars": None, "used_dollars": None, "remaining_dollars": None}


KINDS = {"session": "session", "weekly": "weekly_all"}


def window(
    key: str,
    model: str | None,
    utilization: float | None,
    remaining: float | None,
    resets_at: str | None,
    *,
    surface: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Build an expected window; its kind follows from the key unless given, as in the contract."""
    return {
        "key": key,
        "kind": kind or KINDS.get(key, "weekly_scoped"),
        "model": model,
        "surface": surface,
        "utilization": utilization,
        "remaining": remaining,
        "resets_at": resets_at,
    }


def limit(
    kind: str,
    percent: object,
    resets_at: str | None = None,
    model: str | None = None,
    **extra: object,
) -> dict[str, Any]:
    """Build a `limits[]` entry as the 2026 server sends it."""
    scope = None if model is None else {"model": {"display_name": model}}
    entry = {
        "kind": kind,
        "group": "plan",
        "percent": percent,
        "severity": "normal",
        "resets_at": resets_at,
        "scope": scope,
        "is_active": True,
    }
    return entry | extra


# The three windows of ARCHITECTURE.md's `poll` example, written out in full.
SESSION_16 = {
    "key": "session",
    "kind": "session",
    "model": None,
    "surface": None,
    "utilization": 16.0,
    "remaining": 84.0,
    "resets_at": SESSION_RESET,
}
WEEKLY_42 = {
    "key": "weekly",
    "kind": "weekly_all",
    "model": None,
    "surface": None,
    "utilization": 42.0,
    "remaining": 58.0,
    "resets_at": WEEKLY_RESET,
}
SONNET_31 = {
    "key": "weekly_sonnet",
    "kind": "weekly_scoped",
    "model": "Sonnet",
    "surface": None,
    "utilization": 31.0,
    "remaining": 69.0,
    "resets_at": WEEKLY_RESET,
}
EXTRA_USD = {"enabled": True, "used": 3.47, "limit": 20.5, "utilization": 16.93, "currency": "USD"}

# The mid-2026 shape: per-model legacy fields null, the figures in `limits[]`, plus `spend`.
USAGE_2026: dict[str, Any] = {
    "five_hour": {"utilization": 16.0, "resets_at": SESSION_RESET} | DOLLAR_FIELDS,
    "seven_day": {"utilization": 42.0, "resets_at": WEEKLY_RESET} | DOLLAR_FIELDS,
    "seven_day_sonnet": None,
    "seven_day_opus": None,
    "seven_day_oauth_apps": None,
    "seven_day_cowork": None,
    "seven_day_omelette": {"utilization": 42.0, "resets_at": WEEKLY_RESET},
    "iguana_necktie": {"utilization": 5.0, "resets_at": WEEKLY_RESET},
    "extra_usage": {
        "is_enabled": True,
        "monthly_limit": 2050,
        "used_credits": 347,
        "utilization": 16.93,
        "currency": "USD",
        "decimal_places": 2,
        "disabled_reason": None,
        "daily": None,
        "weekly": None,
    },
    "limits": [
        limit("session", 16, SESSION_RESET),
        limit("weekly_all", 42, WEEKLY_RESET),
        limit("weekly_scoped", 31, WEEKLY_RESET, "Sonnet"),
        limit("weekly_scoped", 0, None, "Opus", is_active=False),
        limit("spend", 17),
    ],
    "spend": {
        "used": {"amount_minor": 347, "currency": "USD", "exponent": 2},
        "limit": {"amount_minor": 2050, "currency": "USD", "exponent": 2},
        "percent": 16.93,
        "enabled": True,
    },
}

# Older accounts: a short object with legacy fields only.
USAGE_2025: dict[str, Any] = {
    "five_hour": {"utilization": 7, "resets_at": "2025-10-01T14:00:00.5+00:00"},
    "seven_day": {"utilization": 23, "resets_at": "2025-10-05T09:00:00+00:00"},
    "seven_day_opus": {"utilization": 3, "resets_at": "2025-10-05T09:00:00+00:00"},
    "seven_day_oauth_apps": None,
    "extra_usage": None,
}

# Per-model figures only in `limits[]`; legacy fields absent altogether.
USAGE_LIMITS_ONLY: dict[str, Any] = {
    "limits": [
        limit("weekly_scoped", 12, WEEKLY_RESET, "Opus 4.5"),
        limit("weekly_scoped", 31, WEEKLY_RESET, "Sonnet"),
        limit("weekly_all", 42, WEEKLY_RESET),
        limit("session", 16, SESSION_RESET),
    ],
}

# An account at rest: nothing used, so no window has a reset time.
USAGE_IDLE: dict[str, Any] = {
    "five_hour": {"utilization": 0, "resets_at": None},
    "seven_day": {"utilization": 0.0, "resets_at": None},
    "seven_day_sonnet": {"utilization": 0, "resets_at": None},
    "extra_usage": {"is_enabled": False, "monthly_limit": None, "used_credits": 0},
}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            USAGE_2026,
            {
                "usage_percent": 16.0,
                "reset_time": SESSION_RESET,
                "windows": [SESSION_16, WEEKLY_42, SONNET_31],
                "extra_usage": EXTRA_USD,
            },
            id="2026 limits and legacy",
        ),
        pytest.param(
            USAGE_2025,
            {
                "usage_percent": 7.0,
                "reset_time": "2025-10-01T14:00:00.500000+00:00",
                "windows": [
                    window("session", None, 7.0, 93.0, "2025-10-01T14:00:00.500000+00:00"),
                    window("weekly", None, 23.0, 77.0, "2025-10-05T09:00:00+00:00"),
                    window(
                        "weekly_opus",
                        "Opus",
                        3.0,
                        97.0,
                        "2025-10-05T09:00:00+00:00",
                    ),
                ],
                "extra_usage": None,
            },
            id="2025 short object",
        ),
        pytest.param(
            USAGE_LIMITS_ONLY,
            {
                "usage_percent": 16.0,
                "reset_time": SESSION_RESET,
                "windows": [
                    SESSION_16,
                    WEEKLY_42,
                    window("weekly_opus_4_5", "Opus 4.5", 12.0, 88.0, WEEKLY_RESET),
                    SONNET_31,
                ],
                "extra_usage": None,
            },
            id="limits only, per model",
        ),
        pytest.param(
            USAGE_IDLE,
            {
                "usage_percent": 0.0,
                "reset_time": None,
                "windows": [
                    window("session", None, 0.0, 100.0, None),
                    window("weekly", None, 0.0, 100.0, None),
                    window("weekly_sonnet", "Sonnet", 0.0, 100.0, None),
                ],
                "extra_usage": {
                    "enabled": False,
                    "used": 0.0,
                    "limit": None,
                    "utilization": None,
                    "currency": None,
                },
            },
            id="idle windows without resets",
        ),
        pytest.param(
            {},
            {"usage_percent": None, "reset_time": None, "windows": [], "extra_usage": None},
            id="empty object",
        ),
        pytest.param(
            {"seven_day": {"utilization": 42.0, "resets_at": WEEKLY_RESET}, "five_hour": None},
            {
                "usage_percent": None,
                "reset_time": None,
                "windows": [WEEKLY_42],
                "extra_usage": None,
            },
            id="no session window",
        ),
    ],
)
def test_parse_usage(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every known shape of the usage report parses to the exact `poll` fields."""
    assert parse_usage(payload) == expected


@pytest.mark.parametrize(
    ("payload", "json_type"),
    [
        pytest.param([{"five_hour": None}], "array", id="array"),
        pytest.param("sk-ant-sid02-secret", "string", id="string"),
        pytest.param(16, "number", id="int"),
        pytest.param(16.5, "number", id="float"),
        pytest.param(True, "boolean", id="bool"),
        pytest.param(None, "null", id="null"),
        pytest.param(b"{}", "bytes", id="not JSON at all"),
    ],
)
def test_parse_usage_rejects_a_non_object(payload: object, json_type: str) -> None:
    """A body of the wrong type is `bad_response`, named by its type and never quoted."""
    with pytest.raises(ScraperError) as caught:
        parse_usage(payload)
    assert caught.value.code is ErrorCode.BAD_RESPONSE
    assert caught.value.message == f"The usage report is a JSON {json_type}, not an object."
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "utilization", "remaining"),
    [
        pytest.param(16, 16.0, 84.0, id="int"),
        pytest.param(16.25, 16.25, 83.75, id="float"),
        pytest.param("16.5", 16.5, 83.5, id="numeric string"),
        pytest.param(" 7 ", 7.0, 93.0, id="padded string"),
        pytest.param("1e1", 10.0, 90.0, id="exponent string"),
        pytest.param(57.99, 57.99, 42.01, id="remaining without float noise"),
        pytest.param(100, 100.0, 0.0, id="at the limit"),
        pytest.param(112.5, 112.5, 0.0, id="over the limit, remaining floors at 0"),
        pytest.param(None, None, None, id="null"),
        pytest.param(True, None, None, id="bool is not a number"),
        pytest.param("sixteen", None, None, id="non-numeric string"),
        pytest.param("", None, None, id="empty string"),
        pytest.param("NaN", None, None, id="NaN string"),
        pytest.param(float("nan"), None, None, id="NaN"),
        pytest.param(float("inf"), None, None, id="infinity"),
        pytest.param("1e400", None, None, id="string beyond float"),
        pytest.param(10**400, None, None, id="int beyond float"),
        pytest.param([16], None, None, id="list"),
        pytest.param({"value": 16}, None, None, id="object"),
    ],
)
def test_utilization_values(
    value: object, utilization: float | None, remaining: float | None
) -> None:
    """Utilization comes from numbers and numeric strings; anything else is unknown."""
    payload = {"five_hour": {"utilization": value, "resets_at": SESSION_RESET}}
    assert parse_usage(payload)["windows"] == [
        window("session", None, utilization, remaining, SESSION_RESET)
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(SESSION_RESET, SESSION_RESET, id="microseconds kept"),
        pytest.param("2026-08-23T15:00:00Z", "2026-08-23T15:00:00+00:00", id="Z suffix"),
        pytest.param("2026-08-23T15:00:00", "2026-08-23T15:00:00+00:00", id="naive is UTC"),
        pytest.param(
            "2026-08-23T17:00:00.5+02:00", "2026-08-23T17:00:00.500000+02:00", id="offset kept"
        ),
        pytest.param("2026-08-23", "2026-08-23T00:00:00+00:00", id="date only"),
        pytest.param("next Sunday", None, id="unparseable"),
        pytest.param("", None, id="empty"),
        pytest.param(1787497200, None, id="epoch number"),
        pytest.param(None, None, id="null"),
    ],
)
def test_reset_times(value: object, expected: str | None) -> None:
    """Reset times become ISO 8601 with an offset, or None."""
    payload = {"five_hour": {"utilization": 16, "resets_at": value}}
    result = parse_usage(payload)
    assert result["reset_time"] == expected
    assert result["windows"] == [window("session", None, 16.0, 84.0, expected)]


WEEKLY_AT = {"utilization": 10, "resets_at": WEEKLY_RESET}


def scoped(key: str, model: str | None, utilization: float = 10.0) -> dict[str, Any]:
    """Build an expected scoped weekly window that resets with the week."""
    return window(key, model, utilization, 100.0 - utilization, WEEKLY_RESET)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"seven_day_opus": WEEKLY_AT}, [scoped("weekly_opus", "Opus")], id="opus"),
        pytest.param(
            {"seven_day_opus_4_5": WEEKLY_AT},
            [scoped("weekly_opus_4_5", "Opus 4 5")],
            id="multi-word model",
        ),
        pytest.param(
            {"seven_day_oauth_apps": WEEKLY_AT},
            [scoped("weekly_oauth_apps", None)],
            id="oauth apps has no model",
        ),
        pytest.param({"seven_day_cowork": WEEKLY_AT}, [scoped("weekly_cowork", None)], id="cowork"),
        pytest.param(
            {"seven_day_routines": WEEKLY_AT},
            [scoped("weekly_cowork", None)],
            id="routines stands in for cowork",
        ),
        pytest.param(
            {"seven_day_routines": {"utilization": 20}, "seven_day_cowork": WEEKLY_AT},
            [scoped("weekly_cowork", None)],
            id="cowork wins over routines",
        ),
        pytest.param(
            {"seven_day_cowork": {"utilization": None}, "seven_day_routines": WEEKLY_AT},
            [window("weekly_cowork", None, None, None, None)],
            id="cowork reported wins even when empty",
        ),
        pytest.param(
            {"seven_day_cowork": None, "seven_day_routines": WEEKLY_AT},
            [scoped("weekly_cowork", None)],
            id="null cowork falls back to routines",
        ),
        pytest.param(
            {"seven_day_cowork": "soon", "seven_day_routines": WEEKLY_AT},
            [scoped("weekly_cowork", None)],
            id="non-object cowork falls back to routines",
        ),
        pytest.param({"seven_day_omelette": WEEKLY_AT}, [], id="omelette ignored"),
        pytest.param({"iguana_necktie": WEEKLY_AT}, [], id="code name ignored"),
        pytest.param({"seven_dayish": WEEKLY_AT}, [], id="not seven_day_<name>"),
        pytest.param({"seven_day_": WEEKLY_AT}, [], id="empty model name"),
        pytest.param({"seven_day___": WEEKLY_AT}, [], id="model name without letters"),
        pytest.param(
            {"five_hour": [16], "seven_day": 42, "seven_day_sonnet": "31"},
            [],
            id="non-object windows ignored",
        ),
        pytest.param(
            {"seven_day_sonnet": {}},
            [window("weekly_sonnet", "Sonnet", None, None, None)],
            id="reported window with nothing known",
        ),
        pytest.param(
            {
                "seven_day_sonnet": WEEKLY_AT,
                "seven_day_cowork": WEEKLY_AT,
                "seven_day": WEEKLY_AT,
                "seven_day_oauth_apps": WEEKLY_AT,
                "five_hour": WEEKLY_AT,
                "seven_day_haiku": WEEKLY_AT,
            },
            [
                window("session", None, 10.0, 90.0, WEEKLY_RESET),
                window("weekly", None, 10.0, 90.0, WEEKLY_RESET),
                scoped("weekly_cowork", None),
                scoped("weekly_haiku", "Haiku"),
                scoped("weekly_oauth_apps", None),
                scoped("weekly_sonnet", "Sonnet"),
            ],
            id="session, weekly, then scoped by key",
        ),
    ],
)
def test_legacy_windows(payload: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    """Legacy `five_hour` / `seven_day*` fields map to the contract's keys."""
    assert parse_usage(payload)["windows"] == expected


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        pytest.param(
            [limit("weekly_scoped", 10, WEEKLY_RESET, "Opus 4.5")],
            [scoped("weekly_opus_4_5", "Opus 4.5")],
            id="display name keyed",
        ),
        pytest.param(
            [limit("weekly_scoped", 10, WEEKLY_RESET, "  Claude Haiku -- Fast  ")],
            [scoped("weekly_claude_haiku_fast", "Claude Haiku -- Fast")],
            id="display name trimmed, separators collapsed",
        ),
        pytest.param(
            [limit("weekly_scoped", 10, WEEKLY_RESET, "Sønnet")],
            [scoped("weekly_s_nnet", "Sønnet")],
            id="key is ASCII",
        ),
        pytest.param(
            [limit("weekly_scoped", 10, WEEKLY_RESET, "sonnet")],
            [scoped("weekly_sonnet", "sonnet")],
            id="display name kept as sent",
        ),
        pytest.param([limit("weekly_scoped", 10, WEEKLY_RESET, "!!")], [], id="no usable key"),
        pytest.param([limit("weekly_scoped", 10, WEEKLY_RESET, "  ")], [], id="blank name"),
        pytest.param([limit("weekly_scoped", 10, WEEKLY_RESET)], [], id="scope null"),
        pytest.param(
            [limit("weekly_scoped", 10, scope={"model": "Sonnet"})], [], id="model not an object"
        ),
        pytest.param(
            [limit("weekly_scoped", 10, scope={"model": {"display_name": 4}})],
            [],
            id="display name not a string",
        ),
        pytest.param(
            [limit("weekly_scoped", 10, scope={"feature": {"display_name": "Cowork"}})],
            [],
            id="scope without a model",
        ),
        pytest.param([limit("spend", 17)], [], id="spend is not a window"),
        pytest.param([limit("session", 16, SESSION_RESET, is_active=False)], [], id="inactive"),
        pytest.param(
            [limit("session", 16, SESSION_RESET, is_active=None)],
            [SESSION_16],
            id="is_active null counts as active",
        ),
        pytest.param(
            [{"kind": "session", "percent": "16", "resets_at": SESSION_RESET}],
            [SESSION_16],
            id="minimal entry, string percent",
        ),
        pytest.param(["session", None, 16], [], id="non-object entries ignored"),
        pytest.param(
            [
                limit("weekly_scoped", 31, None, "Sonnet"),
                limit("weekly_scoped", 35, WEEKLY_RESET, "Sonnet"),
            ],
            [window("weekly_sonnet", "Sonnet", 31.0, 69.0, WEEKLY_RESET)],
            id="first duplicate wins, later ones fill nulls",
        ),
    ],
)
def test_limit_windows(limits: list[Any], expected: list[dict[str, Any]]) -> None:
    """`limits[]` entries map to windows; inactive, spend and unknown entries do not."""
    assert parse_usage({"limits": limits})["windows"] == expected


def surface_limit(surface: object, percent: object = 20, **scope: object) -> dict[str, Any]:
    """Build a `weekly_scoped` entry scoped by surface (its shape is not public)."""
    return limit("weekly_scoped", percent, WEEKLY_RESET, scope={"surface": surface} | scope)


def other(key: str, utilization: float, **names: str | None) -> dict[str, Any]:
    """Build an expected window of kind `other` that resets with the week."""
    return window(key, names.get("model"), utilization, 100.0 - utilization, WEEKLY_RESET) | {
        "kind": "other",
        "surface": names.get("surface"),
    }


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        pytest.param(
            [surface_limit({"id": "claude_code", "display_name": "Claude Code"}, model=None)],
            [scoped("weekly_claude_code", None, 20.0) | {"surface": "Claude Code"}],
            id="surface object with a display name",
        ),
        pytest.param(
            [surface_limit({"id": "chrome_extension"}, model={"display_name": None})],
            [scoped("weekly_chrome_extension", None, 20.0) | {"surface": "chrome_extension"}],
            id="surface object with only an id, model without a name",
        ),
        pytest.param(
            [surface_limit(" Claude Desktop ")],
            [scoped("weekly_claude_desktop", None, 20.0) | {"surface": "Claude Desktop"}],
            id="surface as a string",
        ),
        pytest.param(
            [surface_limit("Claude Code", model={"display_name": "Opus"})],
            [scoped("weekly_opus", "Opus", 20.0) | {"surface": "Claude Code"}],
            id="a model name wins the key",
        ),
        pytest.param([surface_limit("!!")], [], id="surface without a usable key"),
        pytest.param([surface_limit({"display_name": 7})], [], id="surface name not a string"),
        pytest.param([surface_limit(["Claude Code"])], [], id="surface of another type"),
        pytest.param(
            [limit("daily_routines", 40, WEEKLY_RESET)],
            [other("daily_routines", 40.0)],
            id="new kind",
        ),
        pytest.param(
            [limit("daily", "12.5", WEEKLY_RESET, "Opus")],
            [other("daily_opus", 12.5, model="Opus")],
            id="new kind scoped by model",
        ),
        pytest.param(
            [limit("Monthly Design", 3, WEEKLY_RESET, scope={"surface": "Claude Design"})],
            [other("monthly_design_claude_design", 3.0, surface="Claude Design")],
            id="new kind scoped by surface, slugged",
        ),
        pytest.param([limit("daily", None, WEEKLY_RESET)], [], id="new kind without a figure"),
        pytest.param([limit("daily", "lots", WEEKLY_RESET)], [], id="new kind, figure not numeric"),
        pytest.param([limit("daily", 5, is_active=False)], [], id="new kind, inactive"),
        pytest.param([limit("日次", 5, WEEKLY_RESET)], [], id="new kind without a usable key"),
        pytest.param([limit(7, 5, WEEKLY_RESET)], [], id="kind not a string"),
        pytest.param(
            [limit("weekly", 5, WEEKLY_RESET), limit("weekly_all", 42, WEEKLY_RESET)],
            [window("weekly", None, 5.0, 95.0, WEEKLY_RESET, kind="other")],
            id="a key taken by another kind stays with the first",
        ),
        pytest.param(
            [
                limit("daily", 5, WEEKLY_RESET),
                surface_limit("Claude Code"),
                limit("weekly_scoped", 31, WEEKLY_RESET, "Sonnet"),
                limit("weekly_all", 42, WEEKLY_RESET),
                limit("session", 16, SESSION_RESET),
            ],
            [
                SESSION_16,
                WEEKLY_42,
                scoped("weekly_claude_code", None, 20.0) | {"surface": "Claude Code"},
                SONNET_31,
                other("daily", 5.0),
            ],
            id="session, weekly, scoped, then other",
        ),
    ],
)
def test_new_limit_windows(limits: list[Any], expected: list[dict[str, Any]]) -> None:
    """Surface-scoped weeklies and kinds not seen yet become windows by the contract's rules."""
    assert parse_usage({"limits": limits})["windows"] == expected


def test_surface_fills_a_legacy_window() -> None:
    """The legacy cowork field and a surface entry named Cowork are one window."""
    payload = {
        "seven_day_cowork": {"utilization": 12.25, "resets_at": None},
        "limits": [surface_limit({"id": "cowork", "display_name": "Cowork"}, 12)],
    }
    expected = window("weekly_cowork", None, 12.25, 87.75, WEEKLY_RESET, surface="Cowork")
    assert parse_usage(payload)["windows"] == [expected]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            dict.fromkeys(
                ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet", "extra_usage")
            ),
            id="no limits key",
        ),
        pytest.param({"five_hour": None, "seven_day": None, "limits": []}, id="empty limits"),
        pytest.param(
            {
                "five_hour": None,
                "limits": [limit("weekly_scoped", 0, None, "Opus", is_active=False)],
            },
            id="only inactive limits",
        ),
    ],
)
def test_free_account(payload: dict[str, Any]) -> None:
    """A Free account's report (every window null) is a result with no windows, not an error."""
    assert parse_usage(payload) == {
        "usage_percent": None,
        "reset_time": None,
        "windows": [],
        "extra_usage": None,
    }


def test_session_and_weekly_from_limits_when_legacy_is_null() -> None:
    """`five_hour` / `seven_day` null: the figures of `limits[]` still make both windows."""
    payload = {
        "five_hour": None,
        "seven_day": None,
        "limits": [limit("session", 16, SESSION_RESET), limit("weekly_all", 42, WEEKLY_RESET)],
    }
    usage = parse_usage(payload)
    assert usage["windows"] == [SESSION_16, WEEKLY_42]
    assert (usage["usage_percent"], usage["reset_time"]) == (16.0, SESSION_RESET)


@pytest.mark.parametrize(
    "limits", [None, {"kind": "session"}, "session"], ids=["null", "object", "string"]
)
def test_limits_not_a_list(limits: object) -> None:
    """A `limits` of another type is ignored, the legacy fields still count."""
    payload = {"five_hour": {"utilization": 16.0, "resets_at": SESSION_RESET}, "limits": limits}
    assert parse_usage(payload)["windows"] == [SESSION_16]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {
                "five_hour": {"utilization": 16.37, "resets_at": SESSION_RESET},
                "limits": [limit("session", 16, "2026-08-23T15:00:00+00:00")],
            },
            [window("session", None, 16.37, 83.63, SESSION_RESET)],
            id="legacy float and reset win",
        ),
        pytest.param(
            {
                "five_hour": {"utilization": None, "resets_at": SESSION_RESET},
                "limits": [limit("session", 16, "2026-08-23T15:00:00+00:00")],
            },
            [SESSION_16],
            id="limits fills a null utilization",
        ),
        pytest.param(
            {
                "seven_day": {"utilization": 42.0, "resets_at": None},
                "limits": [limit("weekly_all", 40, WEEKLY_RESET)],
            },
            [WEEKLY_42],
            id="limits fills a null reset",
        ),
        pytest.param(
            {
                "seven_day_sonnet": {"utilization": 31.0, "resets_at": None},
                "limits": [limit("weekly_scoped", 30, WEEKLY_RESET, "Sonnet")],
            },
            [SONNET_31],
            id="scoped legacy merges with its display name",
        ),
        pytest.param(
            {
                "seven_day_sonnet": {"utilization": None, "resets_at": None},
                "limits": [limit("weekly_scoped", "bad", "never", "Sonnet")],
            },
            [window("weekly_sonnet", "Sonnet", None, None, None)],
            id="unusable limits values fill nothing",
        ),
        pytest.param(
            {
                "five_hour": {"utilization": 16.0, "resets_at": SESSION_RESET},
                "limits": [limit("session", 99, None, is_active=False)],
            },
            [SESSION_16],
            id="inactive entry leaves the legacy window alone",
        ),
    ],
)
def test_merge_precedence(payload: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    """A window in both places: legacy values win, `limits[]` fills what is null."""
    assert parse_usage(payload)["windows"] == expected


def extra(**fields: object) -> dict[str, Any]:
    """Build an expected `extra_usage`, None for each field not given."""
    unknown = dict.fromkeys(("enabled", "used", "limit", "utilization", "currency"))
    return unknown | fields


SERVER_EXTRA = USAGE_2026["extra_usage"]
SPEND = USAGE_2026["spend"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"extra_usage": SERVER_EXTRA}, EXTRA_USD, id="extra_usage"),
        pytest.param(
            {"extra_usage": SERVER_EXTRA | {"used_credits": 2563, "utilization": 125.02}},
            EXTRA_USD | {"used": 25.63, "utilization": 125.02},
            id="over 100 percent",
        ),
        pytest.param(
            {"extra_usage": SERVER_EXTRA | {"used_credits": 346.99999999}},
            EXTRA_USD,
            id="float minor units rounded to cents",
        ),
        pytest.param(
            {"extra_usage": SERVER_EXTRA | {"used_credits": "347", "monthly_limit": None}},
            EXTRA_USD | {"limit": None},
            id="string amount, no monthly limit",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 500, "currency": "JPY", "decimal_places": 0}},
            extra(used=500.0, currency="JPY"),
            id="zero decimal places",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 12345, "currency": "KWD", "decimal_places": 3}},
            extra(used=12.345, currency="KWD"),
            id="three decimal places",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 347, "monthly_limit": 2050}},
            extra(used=3.47, limit=20.5),
            id="decimal places default to 2",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 347, "decimal_places": True}},
            extra(used=3.47),
            id="bool decimal places",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 347, "decimal_places": -1}},
            extra(used=3.47),
            id="negative decimal places",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 347, "decimal_places": 10**9}},
            extra(used=3.47),
            id="absurd decimal places",
        ),
        pytest.param(
            {"extra_usage": {"used_credits": 347, "decimal_places": "3"}},
            extra(used=3.47),
            id="string decimal places",
        ),
        pytest.param(
            {"extra_usage": {"is_enabled": "yes", "currency": 840, "utilization": "n/a"}},
            extra(),
            id="odd values become None",
        ),
        pytest.param(
            {"extra_usage": {"disabled_reason": "out_of_credits"}},
            extra(),
            id="unknown object keeps its place",
        ),
        pytest.param(
            {
                "extra_usage": SERVER_EXTRA | {"is_enabled": False},
                "spend": SPEND | {"enabled": True},
            },
            EXTRA_USD | {"enabled": False},
            id="extra_usage wins over spend",
        ),
        pytest.param({"extra_usage": None, "spend": SPEND}, EXTRA_USD, id="spend only"),
        pytest.param({"spend": SPEND}, EXTRA_USD, id="spend, extra_usage absent"),
        pytest.param(
            {"extra_usage": "disabled", "spend": SPEND},
            EXTRA_USD,
            id="non-object extra_usage falls back to spend",
        ),
        pytest.param(
            {"spend": SPEND | {"limit": 2050}},
            EXTRA_USD,
            id="spend limit as a number of minor units",
        ),
        pytest.param(
            {
                "spend": {
                    "used": {"amount_minor": 347, "currency": "EUR", "exponent": 2},
                    "limit": {"amount_minor": 205, "exponent": 1},
                }
            },
            extra(used=3.47, limit=20.5, currency="EUR"),
            id="spend limit with its own exponent",
        ),
        pytest.param(
            {
                "spend": {
                    "used": {"amount_minor": 500, "currency": "JPY", "exponent": 0},
                    "limit": {"amount_minor": 3000},
                    "percent": "16.7",
                }
            },
            extra(used=500.0, limit=3000.0, utilization=16.7, currency="JPY"),
            id="spend limit without exponent takes used's",
        ),
        pytest.param(
            {"spend": {"used": {"amount_minor": 2563, "currency": "USD"}, "percent": 125}},
            extra(used=25.63, utilization=125.0, currency="USD"),
            id="spend over 100 percent, no limit, default exponent",
        ),
        pytest.param(
            {"spend": {"used": 347, "enabled": False}},
            extra(enabled=False, used=3.47),
            id="spend used as a number",
        ),
        pytest.param(
            {"spend": {"used": {"amount_minor": None, "currency": "USD"}, "limit": "none"}},
            extra(currency="USD"),
            id="spend with unknown amounts",
        ),
        pytest.param({"spend": {}}, extra(), id="empty spend"),
        pytest.param({"extra_usage": None, "spend": None}, None, id="both null"),
        pytest.param({"spend": [347]}, None, id="non-object spend"),
        pytest.param({"extra_usage": None}, None, id="legacy null"),
    ],
)
def test_extra_usage(payload: dict[str, Any], expected: dict[str, Any] | None) -> None:
    """Extra usage from `extra_usage`, else `spend`, in major currency units."""
    assert parse_usage(payload)["extra_usage"] == expected


API_ORG = {
    "uuid": "11111111-api",
    "id": 1,
    "name": "Jane's API",
    "capabilities": ["api", "api_individual"],
    "rate_limit_tier": "default_api",
    "billing_type": "prepaid",
}
MAX_ORG = {
    "uuid": "631972a6-max",
    "id": 2,
    "name": "Jane's Organization",
    "capabilities": ["chat", "claude_max", "claude_pro"],
    "rate_limit_tier": "default_claude_max_5x",
    "billing_type": "stripe_subscription",
    "parent_organization_uuid": None,
}
TEAM_ORG = {
    "uuid": "99999999-team",
    "name": "Acme",
    "capabilities": ["chat", "raven"],
    "rate_limit_tier": None,
}
PARSED_API = {
    "uuid": "11111111-api",
    "name": "Jane's API",
    "capabilities": ["api", "api_individual"],
    "plan": None,
    "rate_limit_tier": "default_api",
}
PARSED_MAX = {
    "uuid": "631972a6-max",
    "name": "Jane's Organization",
    "capabilities": ["chat", "claude_max", "claude_pro"],
    "plan": "claude_max",
    "rate_limit_tier": "default_claude_max_5x",
}
PARSED_TEAM = {
    "uuid": "99999999-team",
    "name": "Acme",
    "capabilities": ["chat", "raven"],
    "plan": None,
    "rate_limit_tier": None,
}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            [API_ORG, MAX_ORG, TEAM_ORG],
            [PARSED_API, PARSED_MAX, PARSED_TEAM],
            id="API-only first, order kept",
        ),
        pytest.param([], [], id="no organizations"),
        pytest.param(
            [{"uuid": "u1"}],
            [
                {
                    "uuid": "u1",
                    "name": None,
                    "capabilities": [],
                    "plan": None,
                    "rate_limit_tier": None,
                }
            ],
            id="bare item",
        ),
        pytest.param(
            [{"uuid": "u1", "name": "  ", "capabilities": "chat", "rate_limit_tier": 5}],
            [
                {
                    "uuid": "u1",
                    "name": None,
                    "capabilities": [],
                    "plan": None,
                    "rate_limit_tier": None,
                }
            ],
            id="odd fields become None",
        ),
        pytest.param(
            [{"uuid": "u1", "capabilities": [None, 3, "chat", "claude_pro", "claude_max"]}],
            [
                {
                    "uuid": "u1",
                    "name": None,
                    "capabilities": ["chat", "claude_pro", "claude_max"],
                    "plan": "claude_pro",
                    "rate_limit_tier": None,
                }
            ],
            id="non-string capabilities dropped, first plan wins",
        ),
        pytest.param(
            ["junk", None, {"id": 7}, {"uuid": ""}, {"uuid": 7}, MAX_ORG],
            [PARSED_MAX],
            id="odd items skipped when a usable one remains",
        ),
    ],
)
def test_parse_organizations(payload: list[Any], expected: list[dict[str, Any]]) -> None:
    """`/api/organizations` items keep their order and gain `plan`."""
    assert parse_organizations(payload) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(
            {"organizations": [MAX_ORG]},
            "The organizations list is a JSON object, not an array.",
            id="object",
        ),
        pytest.param(
            "<html>Just a moment...</html>",
            "The organizations list is a JSON string, not an array.",
            id="string",
        ),
        pytest.param(None, "The organizations list is a JSON null, not an array.", id="null"),
        pytest.param(
            [{"id": 1, "name": "no uuid"}, "junk"],
            "None of the 2 items in the organizations list has a uuid.",
            id="no usable item",
        ),
    ],
)
def test_parse_organizations_rejects(payload: object, message: str) -> None:
    """A body that is not a list of organizations is `bad_response`, without quoting it."""
    with pytest.raises(ScraperError) as caught:
        parse_organizations(payload)
    assert caught.value.code is ErrorCode.BAD_RESPONSE
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("organizations", "wanted", "expected"),
    [
        pytest.param(
            [PARSED_API, PARSED_MAX, PARSED_TEAM], None, PARSED_MAX, id="first chat org, not first"
        ),
        pytest.param(
            [PARSED_API, PARSED_MAX, PARSED_TEAM], "99999999-team", PARSED_TEAM, id="wanted"
        ),
        pytest.param(
            [PARSED_API, PARSED_MAX], "11111111-api", PARSED_API, id="wanted, even without chat"
        ),
    ],
)
def test_pick_organization(
    organizations: list[dict[str, Any]], wanted: str | None, expected: dict[str, Any]
) -> None:
    """The wanted organization, else the first one with chat."""
    assert pick_organization(organizations, wanted) is expected


@pytest.mark.parametrize(
    ("organizations", "wanted", "code", "message"),
    [
        pytest.param(
            [PARSED_API, PARSED_MAX],
            "deadbeef-gone",
            ErrorCode.ORG_UNAVAILABLE,
            "Organization deadbeef-gone is not among this account's organizations.",
            id="wanted not listed",
        ),
        pytest.param(
            [],
            "631972a6-max",
            ErrorCode.ORG_UNAVAILABLE,
            "Organization 631972a6-max is not among this account's organizations.",
            id="wanted, empty list",
        ),
        pytest.param(
            [PARSED_API],
            None,
            ErrorCode.NO_ORGANIZATION,
            "This account has no organization with Claude chat (only API organizations, or none).",
            id="API only",
        ),
        pytest.param(
            [],
            None,
            ErrorCode.NO_ORGANIZATION,
            "This account has no organization with Claude chat (only API organizations, or none).",
            id="none at all",
        ),
    ],
)
def test_pick_organization_fails(
    organizations: list[dict[str, Any]], wanted: str | None, code: ErrorCode, message: str
) -> None:
    """A missing wanted organization, or no chat organization, is a named error."""
    with pytest.raises(ScraperError) as caught:
        pick_organization(organizations, wanted)
    assert caught.value.code is code
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("org", "expected"),
    [
        pytest.param(
            PARSED_MAX,
            {
                "uuid": "631972a6-max",
                "name": "Jane's Organization",
                "plan": "claude_max",
                "rate_limit_tier": "default_claude_max_5x",
            },
            id="parsed organization",
        ),
        pytest.param(
            {"uuid": "u1"},
            {"uuid": "u1", "name": None, "plan": None, "rate_limit_tier": None},
            id="sparse organization",
        ),
    ],
)
def test_organization_summary(org: dict[str, Any], expected: dict[str, Any]) -> None:
    """The `poll` result's `organization` drops the capabilities."""
    assert organization_summary(org) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {"email_address": "jane@example.com", "email": "old@example.com"},
            {"email": "jane@example.com"},
            id="email_address first",
        ),
        pytest.param({"email": "jane@example.com"}, {"email": "jane@example.com"}, id="email"),
        pytest.param(
            {"email_address": "", "email": "jane@example.com"},
            {"email": "jane@example.com"},
            id="blank email_address falls back",
        ),
        pytest.param({"email_address": None, "full_name": "Jane"}, None, id="no email"),
        pytest.param({"email": 42}, None, id="email not a string"),
        pytest.param(["jane@example.com"], None, id="not an object"),
        pytest.param(None, None, id="null"),
    ],
)
def test_parse_account(payload: object, expected: dict[str, Any] | None) -> None:
    """`/api/account` gives the email, or None when it does not say."""
    assert parse_account(payload) == expected
