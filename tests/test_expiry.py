"""Knowing before the session expires: the diagnostic sensor and the fixable repair issue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.claude_usage.const import CONF_SESSION_EXPIRES, CONF_SESSION_KEY, DOMAIN
from custom_components.claude_usage.expiry import expiry_issue_id
from tests.lookalike import LookalikeServer

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

NOW = datetime(2026, 8, 23, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=10)
SENSOR = "sensor.jane_s_organization_session_expires"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry, expires: datetime | None) -> None:
    if expires is not None:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_SESSION_EXPIRES: expires.isoformat()}
        )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def entry(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The look-alike's entry, added to Home Assistant but not set up."""
    mock_config_entry.add_to_hass(hass)
    return mock_config_entry


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, expiry_issue_id(entry.entry_id))


async def test_issue_three_days_before_a_known_expiry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The sensor tells the expiry; the issue comes three days before it, not earlier."""
    freezer.move_to(NOW)
    await _setup(hass, entry, EXPIRES)
    assert hass.states.get(SENSOR).state == "2026-09-02T12:00:00+00:00"
    assert entity_registry.async_get(SENSOR).entity_category == "diagnostic"
    assert _issue(hass, entry) is None

    freezer.move_to(EXPIRES - timedelta(days=3, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _issue(hass, entry) is None

    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "session_expiring"
    assert issue.translation_placeholders == {
        "title": entry.title,
        "expires": "2026-09-02 05:00",  # the test instance's time zone is US/Pacific
    }


async def test_fixing_starts_reauth(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """The fix opens the reauth flow; signing in again with a pasted key clears the issue."""
    # The real clock: the test client's access token would not be valid yet in the past.
    await _setup(hass, entry, dt_util.utcnow() + timedelta(days=1))
    assert _issue(hass, entry) is not None
    assert await async_setup_component(hass, "repairs", {})

    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix",
        json={"handler": DOMAIN, "issue_id": expiry_issue_id(entry.entry_id)},
    )
    assert response.status == 200
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"]["title"] == entry.title
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert response.status == 200
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    [reauth] = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    result = await hass.config_entries.flow.async_configure(
        reauth["flow_id"], {"next_step_id": "session_key"}
    )
    result = await hass.config_entries.flow.async_configure(
        reauth["flow_id"], {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    # A pasted key's expiry is not known: nothing to warn about, and the sensor says unknown.
    assert entry.data.get(CONF_SESSION_EXPIRES) is None
    assert _issue(hass, entry) is None
    assert hass.states.get(SENSOR).state == STATE_UNKNOWN


async def test_pasted_key_has_no_expiry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Without a known expiry the sensor is unknown and no issue is raised."""
    await _setup(hass, entry, None)
    assert hass.states.get(SENSOR).state == STATE_UNKNOWN
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]


async def test_renewed_key_forgets_the_old_expiry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A key claude.ai renews has an expiry of its own: it replaces the old one, whose issue goes.

    The look-alike sets the renewed cookie for 30 days of its own (real) clock, which is far
    past the frozen one here.
    """
    freezer.move_to(EXPIRES - timedelta(days=2))
    await _setup(hass, entry, EXPIRES)
    assert _issue(hass, entry) is not None
    lookalike.rotate_session_key = True
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert entry.data[CONF_SESSION_KEY] == lookalike.rotated_session_key
    renewed = dt_util.parse_datetime(entry.data[CONF_SESSION_EXPIRES])
    assert renewed is not None
    assert renewed > EXPIRES + timedelta(days=3)
    assert _issue(hass, entry) is None
    assert dt_util.parse_datetime(hass.states.get(SENSOR).state) == renewed.replace(microsecond=0)


async def test_unload_withdraws_the_issue(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """An entry that is not running offers no fix; setting it up again brings the issue back."""
    freezer.move_to(EXPIRES - timedelta(days=2))
    await _setup(hass, entry, EXPIRES)
    assert _issue(hass, entry) is not None
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is not None


async def test_fix_flow_for_an_unknown_issue(hass: HomeAssistant) -> None:
    """A fix asked for an issue this integration does not know is refused."""
    from custom_components.claude_usage.repairs import async_create_fix_flow

    with pytest.raises(ValueError, match="no fix"):
        await async_create_fix_flow(hass, "something_else", None)
