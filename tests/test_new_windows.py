"""Windows claude.ai added in 2026, and Free accounts, through a real Home Assistant.

The real scraper polls the look-alike; each new kind of window gets its sensors without a reload,
named from its surface or kind, with an icon.
"""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.claude_usage.const import BASE_URL_ENV, CONF_SESSION_KEY, DOMAIN
from tests.lookalike import (
    CHAT_ORG_NAME,
    CHAT_ORG_UUID,
    ORGS_FREE,
    USAGE_2026,
    USAGE_FREE,
    USAGE_NEW_KINDS,
    USAGE_SURFACE_SCOPED,
    LookalikeServer,
    usage_payload,
)
from tests.lookalike.payloads import DEMO_SURFACE_AFTER_REQUESTS

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

NOW = datetime(2026, 8, 23, 12, 0, tzinfo=UTC)
PREFIX = "sensor.jane_s_organization"
EVENT_PREFIX = "event.jane_s_organization"
ICONS = json.loads(
    (Path(__file__).parent.parent / "custom_components" / DOMAIN / "icons.json").read_text()
)["entity"]["sensor"]

# (entity id suffix, friendly name after the organization's, translation key, state)
SURFACE = "weekly_surface_usage"
SURFACE_SENSORS = [
    ("weekly_claude_code_usage", "Weekly Claude Code usage", SURFACE, "38.0"),
    ("weekly_claude_code_resets", "Weekly Claude Code resets", "weekly_surface_resets", None),
    ("weekly_claude_in_chrome_usage", "Weekly Claude in chrome usage", SURFACE, "9.0"),
    ("weekly_claude_desktop_usage", "Weekly Claude Desktop usage", SURFACE, "0.0"),
]
OTHER_SENSORS = [
    ("daily_routines_usage", "Daily routines usage", "other_usage", "40.0"),
    ("daily_routines_resets", "Daily routines resets", "other_resets", None),
    ("daily_opus_usage", "Daily Opus usage", "other_usage", "12.0"),
    ("monthly_claude_design_usage", "Monthly Claude Design usage", "other_usage", "3.0"),
    ("monthly_claude_design_resets", "Monthly Claude Design resets", "other_resets", STATE_UNKNOWN),
]


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


def _assert_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    sensors: list[tuple[str, str, str, str | None]],
) -> None:
    for suffix, name, translation_key, value in sensors:
        entity_id = f"{PREFIX}_{suffix}"
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.attributes["friendly_name"] == f"{CHAT_ORG_NAME} {name}"
        if value is not None:
            assert state.state == value, entity_id
        else:  # a reset time, to the second
            assert datetime.fromisoformat(state.state).tzinfo is not None, entity_id
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.unique_id == f"{CHAT_ORG_UUID}_{suffix}"
        assert entry.translation_key == translation_key
        assert ICONS[translation_key]["default"].startswith("mdi:")


def _assert_named(hass: HomeAssistant, entity_id: str, name: str) -> None:
    """The entity exists and its translated name reads `name` after the organization's."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    assert state.attributes["friendly_name"] == f"{CHAT_ORG_NAME} {name}"


async def test_surface_and_new_kind_windows_appear_without_a_reload(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    entity_registry: er.EntityRegistry,
) -> None:
    """Windows scoped by surface, then of new kinds, get named sensors on the next poll."""
    lookalike.set_usage(usage_payload(USAGE_2026, NOW))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data
    assert hass.states.get(f"{PREFIX}_weekly_claude_code_usage") is None

    lookalike.set_usage(usage_payload(USAGE_SURFACE_SCOPED, NOW))
    await _refresh(hass, mock_config_entry)
    assert mock_config_entry.runtime_data is coordinator  # no reload
    _assert_sensors(hass, entity_registry, SURFACE_SENSORS)
    _assert_named(hass, f"{PREFIX}_weekly_claude_code_projected", "Weekly Claude Code projected")
    _assert_named(hass, f"{EVENT_PREFIX}_weekly_claude_code_reset", "Weekly Claude Code reset")
    assert hass.states.get(f"{PREFIX}_daily_routines_usage") is None

    lookalike.set_usage(usage_payload(USAGE_NEW_KINDS, NOW))
    await _refresh(hass, mock_config_entry)
    assert mock_config_entry.runtime_data is coordinator
    _assert_sensors(hass, entity_registry, OTHER_SENSORS)
    _assert_named(hass, f"{EVENT_PREFIX}_daily_routines_reset", "Daily routines reset")
    # A window of unknown length has no projection.
    assert hass.states.get(f"{PREFIX}_daily_routines_projected") is None
    # The surface windows are no longer reported: unavailable, not a stale number.
    state = hass.states.get(f"{PREFIX}_weekly_claude_code_usage")
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    assert hass.states.get(f"{PREFIX}_session_usage").state == "8.0"


async def test_free_account(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    lookalike: LookalikeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every window null: the entry is created and loads, its window sensors read unknown,
    and diagnostics say that no limits were reported."""
    monkeypatch.setenv(BASE_URL_ENV, lookalike.url)
    monkeypatch.delenv("DISPLAY", raising=False)
    lookalike.organizations = ORGS_FREE
    lookalike.usage_shape = USAGE_FREE
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "session_key"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.last_update_success

    for key in ("session_usage", "session_remaining", "session_resets", "weekly_usage"):
        state = hass.states.get(f"{PREFIX}_{key}")
        assert state is not None, key
        assert state.state == STATE_UNKNOWN, key
    assert hass.states.get(f"{PREFIX}_weekly_sonnet_usage") is None
    assert hass.states.get(f"{PREFIX}_plan").state == STATE_UNKNOWN
    assert hass.states.get("binary_sensor.jane_s_organization_limit_reached").state == "off"

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["limits"] == "no limits reported"
    assert diagnostics["data"]["windows"] == {}

    # Upgraded to Pro: the same sensors fill in, no reload needed.
    lookalike.usage_shape = USAGE_2026
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(f"{PREFIX}_session_usage").state == "16.0"
    assert hass.states.get(f"{PREFIX}_weekly_sonnet_usage").state == "31.0"


async def test_demo_adds_a_surface_window_after_a_few_polls(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """The lively demo (scripts/develop): Weekly Claude Code appears on the sixth poll."""
    lookalike.demo = True
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    seen = []
    for _ in range(DEMO_SURFACE_AFTER_REQUESTS):
        seen.append(hass.states.get(f"{PREFIX}_weekly_claude_code_usage") is not None)
        await _refresh(hass, mock_config_entry)
    assert seen == [False] * DEMO_SURFACE_AFTER_REQUESTS
    state = hass.states.get(f"{PREFIX}_weekly_claude_code_usage")
    assert state is not None
    assert state.attributes["friendly_name"] == f"{CHAT_ORG_NAME} Weekly Claude Code usage"
    assert float(state.state) > 0
