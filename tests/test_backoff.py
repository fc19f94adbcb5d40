"""No request to claude.ai inside a Retry-After window: at start-up, across restarts, on a press.

Every test counts the requests that the look-alike receives, not calls to internal functions.
"""

from __future__ import annotations

from datetime import timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_SCAN_INTERVAL, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.claude_usage.backoff import STORAGE_VERSION
from custom_components.claude_usage.const import CONF_BACKEND, DOMAIN
from custom_components.claude_usage.coordinator import local_time
from tests.lookalike import FAIL_RATE_LIMITED, FAIL_SERVER_ERROR, LookalikeServer

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

SESSION_SENSOR = "sensor.jane_s_organization_session_usage"
BUTTON = "button.jane_s_organization_refresh"
FORECAST = "binary_sensor.jane_s_organization_limit_forecast"
SESSION_RESET = "event.jane_s_organization_session_reset"
WINDOW = 7200


def _store_key(entry: MockConfigEntry) -> str:
    return f"{DOMAIN}.{entry.entry_id}.backoff"


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(seconds)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _wait_out(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, lookalike: LookalikeServer, seconds: float
) -> None:
    """Move the clock `seconds` less two in steps, asserting that claude.ai hears nothing."""
    before = lookalike.count_requests()
    # The first steps are where Home Assistant's setup retry would poll (10, 20, 40, 80 s).
    steps = [10, 10, 20, 40, 80, 600, 1800]
    remaining = seconds - 2 - sum(steps)
    for step in [*steps, remaining]:
        await _advance(hass, freezer, step)
        assert lookalike.count_requests() == before


async def _press(hass: HomeAssistant) -> None:
    await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)


async def test_retry_after_at_start_up(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A 429 with Retry-After 7200 at setup: loaded without data, the next poll 7200 s later."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = WINDOW
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    polls = lookalike.count_requests()
    assert polls == 1  # /api/organizations answered 429; the usage was never asked for
    assert hass.states.get(SESSION_SENSOR) is None  # no data: no sensor, no invented value
    assert hass.states.get(FORECAST) is None
    assert hass.states.get(BUTTON) is not None

    await _wait_out(hass, freezer, lookalike, WINDOW)
    lookalike.failure = None
    await _advance(hass, freezer, 4)
    assert lookalike.count_requests() == polls + 2  # organizations, then usage
    assert hass.states.get(SESSION_SENSOR).state not in (None, STATE_UNAVAILABLE)
    # The forecasts and reset events come with the first data too, and follow the clock.
    assert hass.states.get(FORECAST).state in ("on", "off")
    assert hass.states.get(SESSION_RESET) is not None
    await _advance(hass, freezer, 60)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_backoff_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    hass_storage: dict[str, object],
) -> None:
    """Home Assistant starts inside a saved Retry-After window: nothing goes out until its end."""
    now = dt_util.utcnow()
    until = (now + timedelta(seconds=WINDOW)).isoformat()
    hass_storage[_store_key(mock_config_entry)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": _store_key(mock_config_entry),
        "data": {
            "failures": 1,
            "next_request": until,
            "retry_after": WINDOW,
            "wait_until": until,
            "rate_limited_since": now.isoformat(),
            "bad_responses": 0,
        },
    }
    mock_config_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert lookalike.count_requests() == 0
    assert hass.states.get(SESSION_SENSOR) is None

    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "refresh_retry_after"
    assert lookalike.count_requests() == 0

    await _wait_out(hass, freezer, lookalike, WINDOW)
    await _advance(hass, freezer, 4)
    assert lookalike.count_requests() == 2
    assert hass.states.get(SESSION_SENSOR).state != STATE_UNAVAILABLE
    assert hass_storage[_store_key(mock_config_entry)]["data"]["failures"] == 0  # type: ignore[index]


async def test_backoff_survives_reload_and_options_change(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A reload and an options change inside the window keep it; the poll comes at its end."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = WINDOW
    await _advance(hass, freezer, 301)  # the scheduled poll meets the 429
    polls = lookalike.count_requests()

    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 600, CONF_BACKEND: "auto"}
    )
    await hass.async_block_till_done()
    assert init_integration.runtime_data.interval == timedelta(seconds=600)
    assert lookalike.count_requests() == polls
    # The entities kept from before the reload show no old values as if they were current.
    assert hass.states.get(SESSION_SENSOR).state == STATE_UNAVAILABLE

    lookalike.failure = None
    await _wait_out(hass, freezer, lookalike, WINDOW)
    await _advance(hass, freezer, 4)
    assert lookalike.count_requests() == polls + 2
    assert hass.states.get(SESSION_SENSOR).state != STATE_UNAVAILABLE


async def test_refresh_button_inside_and_outside_the_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """Inside a Retry-After window a press sends nothing and says until when; outside it polls."""
    coordinator = init_integration.runtime_data
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = WINDOW
    await _advance(hass, freezer, 301)
    polls = lookalike.count_requests()
    until = coordinator.backoff.wait_until
    assert until is not None

    for _ in range(3):
        with pytest.raises(HomeAssistantError) as err:
            await _press(hass)
        assert local_time(until) in str(err.value)
        await _advance(hass, freezer, 11)  # past the debouncer's cooldown
    # Any other refresh (an automation's homeassistant.update_entity) sends nothing either.
    assert await async_setup_component(hass, "homeassistant", {})
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": SESSION_SENSOR}, blocking=True
    )
    assert lookalike.count_requests() == polls

    lookalike.failure = None
    await _advance(hass, freezer, WINDOW - 33 + 2)  # 33 s passed with the presses above
    assert lookalike.count_requests() == polls + 2
    await _advance(hass, freezer, 11)
    await _press(hass)  # outside a window: polls now, as before
    assert lookalike.count_requests() == polls + 4


async def test_refresh_button_during_plain_backoff(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A backoff that claude.ai did not ask for (a 5xx) does not stop a press."""
    lookalike.failure = FAIL_SERVER_ERROR
    await _advance(hass, freezer, 301)
    polls = lookalike.count_requests()
    lookalike.failure = None
    await _advance(hass, freezer, 11)
    await _press(hass)
    assert lookalike.count_requests() == polls + 2
    assert init_integration.runtime_data.failures == 0


async def test_saved_wait_beyond_any_backoff_is_ignored(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    hass_storage: dict[str, object],
) -> None:
    """A wait saved while the clock was years ahead does not silence the entry for years."""
    far = (dt_util.utcnow() + timedelta(days=400)).isoformat()
    hass_storage[_store_key(mock_config_entry)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": _store_key(mock_config_entry),
        "data": {"failures": 1, "next_request": far, "retry_after": None, "wait_until": None},
    }
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert lookalike.count_requests() == 2
    assert hass.states.get(SESSION_SENSOR).state != STATE_UNAVAILABLE
