"""The Claude Usage integration: a Claude.ai subscription's usage limits as sensors."""

from __future__ import annotations

import shutil

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant

from .backoff import backoff_store
from .coordinator import ClaudeUsageConfigEntry, ClaudeUsageCoordinator, state_dir
from .expiry import async_track_session_expiry
from .issues import async_delete_issues

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
]


async def async_setup_entry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> bool:
    """Set up Claude Usage from a config entry.

    Only an invalid session fails the setup. After any other failure (or inside a backoff
    saved before a restart) the entry loads without data: its entities come with the first
    success, and the backoff, not Home Assistant's setup retry, decides when that poll goes out.
    """
    coordinator = ClaudeUsageCoordinator(hass, entry)
    # A refresh queued behind the debouncer would otherwise start a poll while Home Assistant
    # stops, after its background tasks were cancelled.
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, coordinator.async_stop))
    await coordinator.async_first_poll()
    entry.runtime_data = coordinator
    entry.async_on_unload(async_track_session_expiry(hass, entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> bool:
    """Unload a config entry; a poll still running is cancelled and its scraper killed."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> None:
    """Remove the entry's scraper state, saved backoff and repair issues."""
    async_delete_issues(hass, entry.entry_id)
    await backoff_store(hass, entry.entry_id).async_remove()
    await hass.async_add_executor_job(shutil.rmtree, state_dir(hass, entry.entry_id), True)
