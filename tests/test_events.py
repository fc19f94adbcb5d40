"""Reset events, and reset times that hold still while claude.ai's jitter by seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.claude_usage.event import ResetExtraStoredData
from custom_components.claude_usage.resets import SeenWindow
from tests.lookalike import USAGE_LEGACY_2025, LookalikeServer, usage_payload
from tests.lookalike.payloads import legacy_window

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

NOW = datetime(2026, 8, 23, 12, 0, tzinfo=UTC)
RESETS = datetime(2026, 8, 23, 15, 0, 0, 261810, tzinfo=UTC)
WEEKLY_RESETS = datetime(2026, 8, 27, 9, 0, 0, 261832, tzinfo=UTC)
SESSION_EVENT = "event.jane_s_organization_session_reset"
WEEKLY_EVENT = "event.jane_s_organization_weekly_reset"
SESSION_RESETS = "sensor.jane_s_organization_session_resets"


def _payload(session: float, session_resets: datetime | None) -> dict[str, Any]:
    payload = usage_payload(USAGE_LEGACY_2025, NOW)
    payload["five_hour"] = legacy_window(session, session_resets)
    payload["seven_day"] = legacy_window(42.0, WEEKLY_RESETS)
    payload.pop("seven_day_opus", None)
    payload.pop("seven_day_sonnet", None)
    return payload


class Fired:
    """The reset events that the event entities fire: each new event time in their state.

    A state that comes back as it was (the event entity restoring its last event after a reload)
    is not a new event.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._last = {
            entity_id: state.state
            for entity_id in (SESSION_EVENT, WEEKLY_EVENT)
            if (state := hass.states.get(entity_id)) is not None
        }

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is None or dt_util.parse_datetime(new.state) is None:
                return
            if self._last.get(new.entity_id) != new.state:
                self._last[new.entity_id] = new.state
                self.events.append((new.entity_id, dict(new.attributes)))

        async_track_state_change_event(hass, [SESSION_EVENT, WEEKLY_EVENT], changed)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


async def test_fires_once_when_the_window_moves_on(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """The first poll fires nothing; jitter neither; the next window once, with the old figure."""
    freezer.move_to(NOW)
    lookalike.set_usage(_payload(80.0, RESETS))
    await _setup(hass, mock_config_entry)
    fired = Fired(hass)
    assert hass.states.get(SESSION_EVENT).state == STATE_UNKNOWN

    lookalike.set_usage(_payload(85.0, RESETS + timedelta(seconds=7)))
    await _poll(hass, mock_config_entry)
    assert fired.events == []
    # The reset time holds still through the jitter.
    assert hass.states.get(SESSION_RESETS).state == "2026-08-23T15:00:00+00:00"

    freezer.move_to(RESETS + timedelta(minutes=30))
    lookalike.set_usage(_payload(4.0, RESETS + timedelta(hours=5, seconds=-3)))
    await _poll(hass, mock_config_entry)
    assert fired.events == [
        (
            SESSION_EVENT,
            {
                "event_type": "reset",
                "event_types": ["reset"],
                "window": "session",
                "utilization": 85.0,
                "friendly_name": "Jane's Organization Session reset",
            },
        )
    ]
    assert hass.states.get(SESSION_RESETS).state == "2026-08-23T19:59:57+00:00"

    lookalike.set_usage(_payload(9.0, RESETS + timedelta(hours=5, seconds=2)))
    await _poll(hass, mock_config_entry)
    assert len(fired.events) == 1
    assert hass.states.get(SESSION_RESETS).state == "2026-08-23T19:59:57+00:00"


async def test_fires_when_the_window_goes_idle(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """Usage dropping to a fresh, idle window is a reset; staying idle is not another."""
    freezer.move_to(NOW)
    lookalike.set_usage(_payload(64.0, RESETS))
    await _setup(hass, mock_config_entry)
    fired = Fired(hass)

    freezer.move_to(RESETS + timedelta(minutes=5))
    lookalike.set_usage(_payload(0.0, None))
    await _poll(hass, mock_config_entry)
    assert [(entity, attrs["utilization"]) for entity, attrs in fired.events] == [
        (SESSION_EVENT, 64.0)
    ]
    assert hass.states.get(SESSION_RESETS).state == STATE_UNKNOWN

    # Idle, then a new session starts: that is use, not a reset.
    await _poll(hass, mock_config_entry)
    lookalike.set_usage(_payload(3.0, RESETS + timedelta(hours=5)))
    await _poll(hass, mock_config_entry)
    assert len(fired.events) == 1


async def test_reload_fires_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A reload in the middle of a window fires nothing, and the last event is kept."""
    freezer.move_to(NOW)
    lookalike.set_usage(_payload(80.0, RESETS))
    await _setup(hass, mock_config_entry)
    lookalike.set_usage(_payload(2.0, RESETS + timedelta(hours=5)))
    await _poll(hass, mock_config_entry)
    last = hass.states.get(SESSION_EVENT).state
    fired = Fired(hass)

    lookalike.set_usage(_payload(3.0, RESETS + timedelta(hours=5, seconds=4)))
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await _poll(hass, mock_config_entry)
    assert fired.events == []
    assert hass.states.get(SESSION_EVENT).state == last

    # What was seen before the reload still counts: the next window fires. (The clock moves,
    # as it does between real polls: an event's state is its time.)
    freezer.tick(timedelta(minutes=5))
    lookalike.set_usage(_payload(1.0, RESETS + timedelta(hours=10)))
    await _poll(hass, mock_config_entry)
    assert [(entity, attrs["utilization"]) for entity, attrs in fired.events] == [
        (SESSION_EVENT, 3.0)
    ]


def _restored(resets_at: datetime, utilization: float) -> tuple[State, dict[str, Any]]:
    seen = SeenWindow(resets_at, utilization).as_dict()
    return State(SESSION_EVENT, STATE_UNKNOWN), ResetExtraStoredData(None, None, seen).as_dict()


async def test_restart_in_the_same_window_fires_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """After a restart the first poll is compared with what was seen before it."""
    freezer.move_to(NOW)
    mock_restore_cache_with_extra_data(hass, [_restored(RESETS - timedelta(seconds=5), 70.0)])
    lookalike.set_usage(_payload(72.0, RESETS))
    await _setup(hass, mock_config_entry)
    assert hass.states.get(SESSION_EVENT).state == STATE_UNKNOWN
    # The remembered window is the one to compare with: the next window fires.
    fired = Fired(hass)
    lookalike.set_usage(_payload(1.0, RESETS + timedelta(hours=5)))
    await _poll(hass, mock_config_entry)
    assert [(entity, attrs["utilization"]) for entity, attrs in fired.events] == [
        (SESSION_EVENT, 72.0)
    ]


async def test_reset_while_stopped_is_told_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A window that reset while Home Assistant was stopped fires once, when it is back."""
    freezer.move_to(RESETS + timedelta(hours=1))
    mock_restore_cache_with_extra_data(hass, [_restored(RESETS, 91.0)])
    lookalike.set_usage(_payload(6.0, RESETS + timedelta(hours=5)))
    await _setup(hass, mock_config_entry)
    state = hass.states.get(SESSION_EVENT)
    assert state.attributes["event_type"] == "reset"
    assert state.attributes["utilization"] == 91.0
    # The weekly window had nothing remembered (a new entity): its first poll fires nothing.
    assert hass.states.get(WEEKLY_EVENT).state == STATE_UNKNOWN
    fired = Fired(hass)
    await _poll(hass, mock_config_entry)
    assert fired.events == []


@pytest.mark.parametrize(
    "stored",
    [None, "garbage", {"resets_at": "not a time"}, {"resets_at": None, "utilization": "x"}],
)
def test_seen_window_rejects_damaged_data(stored: Any) -> None:
    """Restore data that is not what this version writes is ignored (a fresh start)."""
    assert SeenWindow.from_dict(stored) is None
