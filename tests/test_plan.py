"""The plan: a translated enum sensor, the device's model, claude.ai's own code in diagnostics."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.claude_usage.const import DOMAIN
from custom_components.claude_usage.sensor import PLAN_OTHER, PLANS
from tests.lookalike import CHAT_ORG_UUID, LookalikeServer, payloads

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

PLAN_SENSOR = "sensor.jane_s_organization_plan"


@pytest.fixture
def plan_code(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """Make the look-alike's personal organization report another plan capability."""
    code: str = request.param
    real = payloads.organizations_payload

    def organizations(preset: str = payloads.ORGS_DEFAULT) -> list[dict[str, Any]]:
        orgs = real(preset)
        for org in orgs:
            if org["uuid"] == CHAT_ORG_UUID:
                org["capabilities"] = ["chat", code]
        return orgs

    monkeypatch.setattr(payloads, "organizations_payload", organizations)
    return code


@pytest.mark.parametrize(
    ("plan_code", "state", "model"),
    [
        ("claude_pro", "pro", "Claude Pro"),
        ("claude_max", "max", "Claude Max"),
        ("claude_team", "team", "Claude Team"),
        ("claude_enterprise", "enterprise", "Claude Enterprise"),
        ("claude_free", "free", "Claude Free"),
        ("claude_ultra_2027", PLAN_OTHER, "Claude Ultra 2027"),
    ],
    indirect=["plan_code"],
)
async def test_plan(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    device_registry: dr.DeviceRegistry,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    plan_code: str,
    state: str,
    model: str,
) -> None:
    """Known plans have their own state; a new code is `other`, and diagnostics tell which."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    sensor = hass.states.get(PLAN_SENSOR)
    assert sensor.state == state
    assert sensor.attributes["options"] == [*PLANS.values(), PLAN_OTHER]
    [device] = dr.async_entries_for_config_entry(device_registry, mock_config_entry.entry_id)
    assert device.model == model
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    assert diagnostics["data"]["organization"]["plan"] == plan_code


async def test_every_plan_state_is_translated(hass: HomeAssistant) -> None:
    """Each option of the plan sensor has an English name."""
    translations = await async_get_translations(hass, "en", "entity", [DOMAIN])
    prefix = f"component.{DOMAIN}.entity.sensor.plan.state."
    assert {key.removeprefix(prefix) for key in translations if key.startswith(prefix)} == {
        *PLANS.values(),
        PLAN_OTHER,
    }
