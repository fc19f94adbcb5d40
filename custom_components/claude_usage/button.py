"""Button for Claude Usage: poll claude.ai now."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ClaudeUsageConfigEntry
from .entity import ClaudeUsageEntity

PARALLEL_UPDATES = 0

REFRESH = ButtonEntityDescription(key="refresh", translation_key="refresh")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ClaudeUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the refresh button."""
    async_add_entities([ClaudeUsageRefreshButton(entry.runtime_data, REFRESH)])


class ClaudeUsageRefreshButton(ClaudeUsageEntity, ButtonEntity):
    """Polls claude.ai now; presses during a poll or the debouncer's cooldown share one poll."""

    @property
    def available(self) -> bool:
        """Stay pressable while polls fail: pressing is how one retries."""
        return True

    async def async_press(self) -> None:
        """Request a refresh."""
        await self.coordinator.async_request_refresh()
