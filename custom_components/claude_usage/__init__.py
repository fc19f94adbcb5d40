"""The Claude Usage integration: a Claude.ai subscription's usage limits as sensors."""

from __future__ import annotations

import shutil

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .coordinator import (
    ClaudeUsageConfigEntry,
    ClaudeUsageCoordinator,
    browser_issue_id,
    state_dir,
)
from .expiry import async_track_session_expiry

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
]


async def async_setup_entry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> bool:
    """Set up Claude Usage from a config entry."""
    coordinator = ClaudeUsageCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    entry.async_on_unload(async_track_session_expiry(hass, entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> bool:
    """Unload a config entry; a poll still running is cancelled and its scraper killed."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> None:
    """Remove the entry's scraper state (cookies, browser profile) and its repair issue."""
    ir.async_delete_issue(hass, DOMAIN, browser_issue_id(entry.entry_id))
    await hass.async_add_executor_job(shutil.rmtree, state_dir(hass, entry.entry_id), True)
