"""Setting up, unloading, reloading and removing Claude Usage entries."""

from __future__ import annotations

import asyncio
import logging

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.claude_usage.const import CONF_BACKEND, CONF_SESSION_KEY, DOMAIN
from custom_components.claude_usage.coordinator import state_dir
from custom_components.claude_usage.issues import ISSUE_RATE_LIMITED, issue_id
from tests.lookalike import (
    FAIL_HANG,
    FAIL_RATE_LIMITED,
    FAIL_SERVER_ERROR,
    FAIL_SESSION_EXPIRED,
    LookalikeServer,
)

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")


async def test_setup_unload_and_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """An entry loads with the real scraper, unloads, and loads again."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.data.organization.uuid == entry.unique_id
    folder = state_dir(hass, entry.entry_id)
    assert folder.is_dir()
    assert folder.stat().st_mode & 0o777 == 0o700

    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_remove_entry_deletes_state(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    hass_storage: dict[str, object],
    issue_registry: ir.IssueRegistry,
) -> None:
    """Removing an entry removes its scraper state, its saved backoff and its repair issues."""
    folder = state_dir(hass, init_integration.entry_id)
    assert folder.is_dir()
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = 7200
    await init_integration.runtime_data.async_refresh()
    store_key = f"{DOMAIN}.{init_integration.entry_id}.backoff"
    assert store_key in hass_storage
    assert issue_registry.async_get_issue(
        DOMAIN, issue_id(ISSUE_RATE_LIMITED, init_integration.entry_id)
    )
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert not folder.exists()
    assert store_key not in hass_storage
    assert not issue_registry.issues


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        # Loaded without data: the integration's backoff, not the setup retry, polls next.
        (FAIL_SERVER_ERROR, ConfigEntryState.LOADED),
        (FAIL_SESSION_EXPIRED, ConfigEntryState.SETUP_ERROR),
    ],
)
async def test_setup_fails(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    failure: str,
    state: ConfigEntryState,
) -> None:
    """Outages leave the entry loaded without data; an expired session starts reauth."""
    lookalike.failure = failure
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is state
    reauth = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert bool(reauth) is (failure == FAIL_SESSION_EXPIRED)


async def test_unload_mid_poll_kills_scraper(
    hass: HomeAssistant, init_integration: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Unloading while a poll hangs cancels it and leaves no process behind."""
    coordinator = init_integration.runtime_data
    lookalike.failure = FAIL_HANG
    started = len(lookalike.requests)
    refresh = hass.async_create_task(coordinator.async_request_refresh())
    for _ in range(200):
        if len(lookalike.requests) > started:
            break
        await asyncio.sleep(0.05)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert refresh.done()
    assert not coordinator.last_update_success


async def test_session_key_absent_from_logs(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The session key appears in no log record: setup, polls, failures, reauth."""
    caplog.set_level(logging.DEBUG)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data
    for failure in (FAIL_SERVER_ERROR, FAIL_SESSION_EXPIRED, None):
        lookalike.failure = failure
        await coordinator.async_refresh()
    lookalike.rotate_session_key = True
    await coordinator.async_refresh()
    assert lookalike.rotated_session_key
    assert mock_config_entry.data[CONF_SESSION_KEY] == lookalike.rotated_session_key
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    secrets = (lookalike.session_key, lookalike.rotated_session_key, "sk-ant-sid0")
    for record in caplog.records:
        message = record.getMessage() + (record.exc_text or "")
        assert not any(secret in message for secret in secrets), message
    assert "Scraper poll failed" in caplog.text


@pytest.mark.browser
async def test_unload_mid_browser_poll_kills_chromium(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """A browser poll cut short by an unload takes its Chromium with it."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, CONF_BACKEND: "browser"}
    )
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data
    lookalike.failure = FAIL_HANG
    started = len(lookalike.requests)
    refresh = hass.async_create_task(coordinator.async_request_refresh())
    for _ in range(400):
        if len(lookalike.requests) > started:
            break
        await asyncio.sleep(0.05)
    assert len(lookalike.requests) > started
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert refresh.done()


async def _wait_for_request(lookalike: LookalikeServer, started: int) -> None:
    for _ in range(200):
        if len(lookalike.requests) > started:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the scraper never reached the look-alike")


@pytest.mark.parametrize("queued", [False, True])
async def test_stop_mid_poll_ends_at_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    caplog: pytest.LogCaptureFixture,
    queued: bool,
) -> None:
    """Home Assistant stops during a hung poll (and one queued behind the debouncer).

    The poll is cancelled, its scraper killed, and no task is left for the final stage.
    """
    coordinator = init_integration.runtime_data
    if queued:
        # A press right after a poll waits for the debouncer's cooldown to poll again.
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.jane_s_organization_refresh"}, blocking=True
        )
    lookalike.failure = FAIL_HANG
    started = len(lookalike.requests)
    press = hass.async_create_task(
        hass.services.async_call(
            "button", "press", {"entity_id": "button.jane_s_organization_refresh"}, blocking=True
        )
    )
    if not queued:
        await _wait_for_request(lookalike, started)
    await hass.async_stop()
    assert press.done()
    assert "still running after final writes" not in caplog.text
    assert "could not be canceled" not in caplog.text
    assert coordinator._poll is None


@pytest.mark.browser
async def test_stop_mid_browser_poll_ends_at_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant stops while Chromium waits for a hung claude.ai: nothing is left."""
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, CONF_BACKEND: "browser"}
    )
    await hass.async_block_till_done()
    lookalike.failure = FAIL_HANG
    started = len(lookalike.requests)
    press = hass.async_create_task(
        hass.services.async_call(
            "button", "press", {"entity_id": "button.jane_s_organization_refresh"}, blocking=True
        )
    )
    for _ in range(400):
        if len(lookalike.requests) > started:
            break
        await asyncio.sleep(0.05)
    assert len(lookalike.requests) > started
    await hass.async_stop()
    assert press.done()
    assert "still running after final writes" not in caplog.text
