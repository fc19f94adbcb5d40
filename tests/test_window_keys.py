"""The window keys, and so the entity unique ids, that every look-alike payload produces.

An entity's unique id is `<organization>_<window key>_<sensor>`: a parser change that renames a
window gives its sensors new ids and cuts their history. The table below is written out by hand
on purpose; change it only for a rename that is meant, and say so in the release notes.
"""

from __future__ import annotations

import pytest

from custom_components.claude_usage.models import Usage
from custom_components.claude_usage.sensor import window_descriptions
from tests.lookalike import USAGE_SHAPES, LookalikeServer
from tests.scraper_process import run_scraper

# Per shape: (key, kind, model, surface) of each window, in the contract's order.
WINDOWS: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "2026": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "legacy_2025": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_opus", "weekly_scoped", "Opus", None),
    ],
    "limits_only": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_haiku", "weekly_scoped", "Haiku", None),
        ("weekly_opus", "weekly_scoped", "Opus", None),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "no_legacy_windows": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_haiku", "weekly_scoped", "Haiku", None),
        ("weekly_opus", "weekly_scoped", "Opus", None),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "idle": [("session", "session", None, None), ("weekly", "weekly_all", None, None)],
    "string_utilization": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "extra_over_100": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "spend_only": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "unknown_keys": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_foo", "weekly_scoped", "Foo", None),
        ("daily_burst", "other", None, None),
    ],
    "surface_scoped": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("weekly_claude_code", "weekly_scoped", None, "Claude Code"),
        ("weekly_claude_desktop", "weekly_scoped", None, "Claude Desktop"),
        ("weekly_claude_in_chrome", "weekly_scoped", None, "claude_in_chrome"),
        ("weekly_sonnet", "weekly_scoped", "Sonnet", None),
    ],
    "new_kinds": [
        ("session", "session", None, None),
        ("weekly", "weekly_all", None, None),
        ("daily_opus", "other", "Opus", None),
        ("daily_routines", "other", None, None),
        ("monthly_claude_design", "other", None, "Claude Design"),
    ],
    "free": [],
}

# Per window key: the sensors (entity keys, unique id suffixes) it gets.
ENTITY_KEYS = {
    "session": ["session_usage", "session_remaining", "session_resets"],
    "weekly": ["weekly_usage", "weekly_remaining", "weekly_resets"],
}


def test_every_payload_is_pinned() -> None:
    """A payload added to the look-alike needs its row here."""
    assert set(WINDOWS) == set(USAGE_SHAPES)


@pytest.mark.parametrize("shape", USAGE_SHAPES)
def test_window_keys(lookalike: LookalikeServer, shape: str) -> None:
    """The real scraper, polling the look-alike, reports exactly the pinned windows."""
    lookalike.usage_shape = shape
    run = run_scraper(
        "poll", "--base-url", lookalike.url, "--backend", "http", stdin=lookalike.session_key
    )
    assert run.returncode == 0, run.stderr
    result = run.result
    windows = [(w["key"], w["kind"], w["model"], w["surface"]) for w in result["windows"]]
    assert windows == WINDOWS[shape]

    # Windows may gain sensors; the ones they have keep their keys.
    usage = Usage.from_dict(result)
    for key, window in usage.windows.items():
        expected = ENTITY_KEYS.get(key, [f"{key}_usage", f"{key}_resets"])
        assert set(expected) <= {d.key for d in window_descriptions(window)}
