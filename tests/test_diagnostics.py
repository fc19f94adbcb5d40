"""Diagnostics: useful, and without the secret or personal data."""

from __future__ import annotations

from datetime import UTC, datetime
import json

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from tests.lookalike import CHAT_ORG_NAME, DEMO_EMAIL, USAGE_2026, LookalikeServer, usage_payload

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    snapshot: SnapshotAssertion,
) -> None:
    """The session key, email and organization name are redacted."""
    lookalike.set_usage(usage_payload(USAGE_2026, datetime(2026, 8, 23, 12, 0, tzinfo=UTC)))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    text = json.dumps(diagnostics)
    for secret in (lookalike.session_key, DEMO_EMAIL, CHAT_ORG_NAME, "sk-ant-"):
        assert secret not in text
    assert diagnostics["entry"]["data"]["base_url"] == lookalike.url
    health = diagnostics["request_health"]
    assert health["polls_since_start"] == 1
    assert health["served_by_http"] == 1
    assert health["median_poll_seconds"] > 0
    assert diagnostics == snapshot(
        exclude=props(
            "fetched_at",
            "base_url",
            "median_poll_seconds",
            "slowest_poll_seconds",
            "next_scheduled_poll",
        )
    )
