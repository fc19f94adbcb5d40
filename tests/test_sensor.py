"""The entities: snapshots, windows that come and go, the limit-reached flag."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.claude_usage.const import DOMAIN
from tests.entity_snapshot import plain, registry_entry, state_view
from tests.lookalike import (
    CHAT_ORG_UUID,
    USAGE_2026,
    USAGE_LEGACY_2025,
    LookalikeServer,
    usage_payload,
)

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

NOW = datetime(2026, 8, 23, 12, 0, tzinfo=UTC)
PREFIX = "jane_s_organization"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity of a 2026 Max account, pinned (forecasts at the moment of the data)."""
    freezer.move_to(NOW)
    lookalike.set_usage(usage_payload(USAGE_2026, NOW))
    await _setup(hass, mock_config_entry)

    # Looked up through the entry: device identifiers are unique per config entry only.
    [device] = dr.async_entries_for_config_entry(device_registry, mock_config_entry.entry_id)
    assert device.identifiers == {(DOMAIN, CHAT_ORG_UUID)}
    assert device.configuration_url == f"{lookalike.url}/settings/usage"
    # What this integration sets: the registry's own fields differ between Home Assistant versions.
    assert {
        field: plain(getattr(device, field))
        for field in ("entry_type", "identifiers", "manufacturer", "model", "model_id", "name")
    } == snapshot(name="device")

    entries = er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id)
    assert entries
    for entity_entry in entries:
        assert registry_entry(entity_entry) == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = hass.states.get(entity_entry.entity_id)
        assert state, entity_entry.entity_id
        # The scraper stamps `last_updated` with its own clock; the look-alike's data is pinned.
        clock = entity_entry.translation_key == "last_updated"
        if clock:
            assert dt_util.parse_datetime(state.state) is not None
        assert state_view(state, attributes_only=clock) == snapshot(
            name=f"{entity_entry.entity_id}-state"
        )


async def test_data_source_disabled_by_default(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The data source sensor is there for diagnosis only and starts disabled."""
    entry = entity_registry.async_get(f"sensor.{PREFIX}_data_source")
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


def _with_model(payload: dict[str, Any], model: str, percent: int) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    payload["limits"].append(
        {
            "kind": "weekly_scoped",
            "group": "weekly",
            "percent": percent,
            "severity": "critical",
            "resets_at": "2026-08-27T09:00:00.261832+00:00",
            "scope": {"model": {"id": f"claude-{model.lower()}", "display_name": model}},
            "is_active": True,
        }
    )
    return payload


async def test_windows_come_and_go(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    entity_registry: er.EntityRegistry,
) -> None:
    """A new scoped window gets entities without a reload; a vanished one goes unavailable."""
    lookalike.set_usage(usage_payload(USAGE_LEGACY_2025, NOW))
    await _setup(hass, mock_config_entry)
    coordinator = mock_config_entry.runtime_data
    assert hass.states.get(f"sensor.{PREFIX}_weekly_haiku_usage") is None
    assert hass.states.get(f"binary_sensor.{PREFIX}_limit_reached").state == STATE_OFF

    lookalike.set_usage(_with_model(usage_payload(USAGE_2026, NOW), "Haiku", 100))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert mock_config_entry.runtime_data is coordinator
    usage = hass.states.get(f"sensor.{PREFIX}_weekly_haiku_usage")
    assert usage is not None
    assert usage.state == "100.0"
    assert usage.attributes["friendly_name"] == "Jane's Organization Weekly Haiku usage"
    resets = hass.states.get(f"sensor.{PREFIX}_weekly_haiku_resets")
    assert resets.state == "2026-08-27T09:00:00+00:00"
    assert entity_registry.async_get(f"sensor.{PREFIX}_weekly_haiku_usage").unique_id == (
        f"{CHAT_ORG_UUID}_weekly_haiku_usage"
    )
    assert hass.states.get(f"binary_sensor.{PREFIX}_limit_reached").state == STATE_ON
    # Its forecast and reset event come with it.
    assert hass.states.get(f"sensor.{PREFIX}_weekly_haiku_projected").attributes[
        "friendly_name"
    ] == ("Jane's Organization Weekly Haiku projected")
    assert hass.states.get(f"event.{PREFIX}_weekly_haiku_reset").attributes["friendly_name"] == (
        "Jane's Organization Weekly Haiku reset"
    )

    lookalike.set_usage(usage_payload(USAGE_2026, NOW))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(f"sensor.{PREFIX}_weekly_haiku_usage").state == STATE_UNAVAILABLE
    assert hass.states.get(f"sensor.{PREFIX}_weekly_haiku_resets").state == STATE_UNAVAILABLE
    assert hass.states.get(f"sensor.{PREFIX}_weekly_haiku_projected").state == STATE_UNAVAILABLE
    assert hass.states.get(f"event.{PREFIX}_weekly_haiku_reset").state == STATE_UNAVAILABLE
    assert hass.states.get(f"sensor.{PREFIX}_weekly_sonnet_usage").state == "31.0"
    assert hass.states.get(f"binary_sensor.{PREFIX}_limit_reached").state == STATE_OFF


async def test_extra_usage_appears_later(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Accounts without extra usage get its entities once it is reported."""
    payload = usage_payload(USAGE_LEGACY_2025, NOW)
    payload["extra_usage"] = None
    lookalike.set_usage(payload)
    await _setup(hass, mock_config_entry)
    assert hass.states.get(f"sensor.{PREFIX}_extra_usage_spent") is None
    assert hass.states.get(f"binary_sensor.{PREFIX}_extra_usage_enabled") is None

    lookalike.set_usage(usage_payload(USAGE_2026, NOW))
    await mock_config_entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    spent = hass.states.get(f"sensor.{PREFIX}_extra_usage_spent")
    assert spent.state == "3.47"
    assert spent.attributes["unit_of_measurement"] == "USD"
    assert hass.states.get(f"binary_sensor.{PREFIX}_extra_usage_enabled").state == STATE_ON

    lookalike.set_usage(payload)
    await mock_config_entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(f"sensor.{PREFIX}_extra_usage_spent").state == STATE_UNAVAILABLE
    assert hass.states.get(f"binary_sensor.{PREFIX}_extra_usage_enabled").state == STATE_UNAVAILABLE
