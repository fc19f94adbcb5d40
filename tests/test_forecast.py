"""Pace and forecast: the pure functions, and the entities following the clock between polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.claude_usage import forecast
from custom_components.claude_usage.models import UsageWindow
from custom_components.claude_usage.scraper.protocol import WindowKind
from tests.lookalike import USAGE_LEGACY_2025, LookalikeServer, usage_payload
from tests.lookalike.payloads import iso, legacy_window

NOW = datetime(2026, 8, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
PREFIX = "jane_s_organization"


def _window(
    utilization: float | None,
    resets_in: timedelta | None,
    kind: WindowKind = WindowKind.SESSION,
    key: str = "session",
) -> UsageWindow:
    resets_at = None if resets_in is None else NOW + resets_in
    remaining = None if utilization is None else max(0.0, 100 - utilization)
    return UsageWindow(key, kind, None, utilization, remaining, resets_at)


@pytest.mark.parametrize(
    ("utilization", "resets_in", "kind", "expected"),
    [
        # 2 of 5 hours gone at 16 %: 40 % at the reset.
        (16.0, 3 * HOUR, WindowKind.SESSION, 40.0),
        # 1 of 7 days gone at 30 %: 210 %.
        (30.0, 6 * DAY, WindowKind.WEEKLY_ALL, 210.0),
        (10.0, 3.5 * DAY, WindowKind.WEEKLY_SCOPED, 20.0),
        # Idle: nothing to project.
        (0.0, None, WindowKind.SESSION, None),
        (None, 3 * HOUR, WindowKind.SESSION, None),
        # The first 10 % of the window (30 min of a session, 16.8 h of a week) is too early.
        (5.0, 4.6 * HOUR, WindowKind.SESSION, None),
        (5.0, 4.5 * HOUR, WindowKind.SESSION, 50.0),
        (5.0, 7 * DAY - 16 * HOUR, WindowKind.WEEKLY_ALL, None),
        # At or over the limit: the current utilization.
        (100.0, 4.9 * HOUR, WindowKind.SESSION, 100.0),
        (104.5, 3 * HOUR, WindowKind.WEEKLY_SCOPED, 104.5),
        # A reset that has passed (the poll is older than it): the whole window ran.
        (70.0, -HOUR, WindowKind.SESSION, 70.0),
    ],
)
def test_projected(
    utilization: float | None,
    resets_in: timedelta | None,
    kind: WindowKind,
    expected: float | None,
) -> None:
    """The percentage at the reset at the average rate so far, and when it is unknown."""
    assert forecast.projected(_window(utilization, resets_in, kind), NOW) == expected


def test_unknown_kind_has_no_length() -> None:
    """A window of a kind with no known length (claude.ai's `other`) projects nothing."""
    window = _window(120.0, 3 * HOUR, kind="other")  # type: ignore[arg-type]
    assert forecast.window_length(window) is None
    assert forecast.projected(window, NOW) is None
    assert forecast.limit_at(window, NOW) is None
    assert not forecast.limit_forecast([window], NOW)


def test_limit_at() -> None:
    """The moment a window reaches 100 % at its pace, if that is before its reset."""
    # 2 h gone at 50 %: 100 % two hours from now, an hour before the reset.
    assert forecast.limit_at(_window(50.0, 3 * HOUR), NOW) == NOW + 2 * HOUR
    # Exactly at the reset still counts; a moment later does not.
    assert forecast.limit_at(_window(40.0, 3 * HOUR), NOW) == NOW + 3 * HOUR
    assert forecast.limit_at(_window(39.0, 3 * HOUR), NOW) is None
    # Nothing used, already over, too early, idle: no moment.
    assert forecast.limit_at(_window(0.0, 3 * HOUR), NOW) is None
    assert forecast.limit_at(_window(100.0, 3 * HOUR), NOW) is None
    assert forecast.limit_at(_window(50.0, 4.9 * HOUR), NOW) is None
    assert forecast.limit_at(_window(50.0, None), NOW) is None


def test_earliest_limit_and_forecast() -> None:
    """Across windows: on when any will reach the limit, at the earliest such moment."""
    session = _window(50.0, 3 * HOUR)  # 100 % in 2 h
    weekly = _window(60.0, 4 * DAY, WindowKind.WEEKLY_ALL, "weekly")  # 100 % in 2 days
    calm = _window(10.0, 4 * DAY, WindowKind.WEEKLY_SCOPED, "weekly_sonnet")
    assert forecast.limit_expected_at([weekly, session, calm], NOW) == NOW + 2 * HOUR
    assert forecast.limit_expected_at([weekly, calm], NOW) == NOW + 2 * DAY
    assert forecast.limit_forecast([calm, weekly], NOW)
    assert not forecast.limit_forecast([calm], NOW)
    assert forecast.limit_expected_at([calm], NOW) is None
    assert forecast.limit_expected_at([], NOW) is None
    # A window over the limit is forecast (it will be at the limit when it resets); its
    # moment has passed, so the earliest moment is another window's.
    over = _window(101.0, 3 * HOUR)
    assert forecast.limit_forecast([over, calm], NOW)
    assert forecast.limit_expected_at([over, weekly], NOW) == NOW + 2 * DAY


def _payload(session: float, session_resets: datetime | None, weekly: float) -> dict[str, object]:
    payload = usage_payload(USAGE_LEGACY_2025, NOW)
    payload["five_hour"] = legacy_window(session, session_resets)
    payload["seven_day"] = legacy_window(weekly, NOW + 5 * DAY)
    payload.pop("seven_day_opus", None)
    payload.pop("seven_day_sonnet", None)
    return payload


@pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")
async def test_forecast_follows_the_clock(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """Between polls the forecast entities move with the clock, from the last poll's data."""
    freezer.move_to(NOW)
    # The session started 27 minutes ago: too early to tell.
    lookalike.set_usage(_payload(30.0, NOW + 4 * HOUR + 33 * MINUTE, 10.0))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    polls = lookalike.count_requests("/api/organizations")

    projected = f"sensor.{PREFIX}_session_projected"
    assert hass.states.get(projected).state == STATE_UNKNOWN
    assert hass.states.get(f"binary_sensor.{PREFIX}_limit_forecast").state == STATE_OFF
    assert hass.states.get(f"sensor.{PREFIX}_limit_expected_at").state == STATE_UNKNOWN

    # Three minutes later (the next poll is two more away): 30 min gone at 30 %, heading for
    # 300 %.
    freezer.tick(3 * MINUTE)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert lookalike.count_requests("/api/organizations") == polls
    assert hass.states.get(projected).state == "300.0"
    assert hass.states.get(f"binary_sensor.{PREFIX}_limit_forecast").state == STATE_ON
    # 70 % more at 1 % a minute.
    expected_at = dt_util.parse_datetime(
        hass.states.get(f"sensor.{PREFIX}_limit_expected_at").state
    )
    assert expected_at == NOW + (3 + 70) * MINUTE

    # Another minute: the same use over a longer time is a slower pace.
    freezer.tick(MINUTE)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(projected).state == str(round(30 * 300 / 31, 1))
    assert lookalike.count_requests("/api/organizations") == polls
    # Two days of seven gone at 10 %, give or take the four minutes.
    assert hass.states.get(f"sensor.{PREFIX}_weekly_projected").state == "35.0"


def test_iso_helper_matches_claude() -> None:
    """The look-alike formats reset times like claude.ai, which the forecast tests rely on."""
    assert iso(NOW) == "2026-08-23T12:00:00.000000+00:00"
