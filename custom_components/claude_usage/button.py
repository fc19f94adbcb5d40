"""Button for Claude Usage: poll claude.ai now."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import ClaudeUsageConfigEntry, local_time
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
        """Request a refresh, unless claude.ai asked to wait (then say until when)."""
        if (until := self.coordinator.retry_after_window_end()) is not None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="refresh_retry_after",
                translation_placeholders={"until": local_time(until)},
            )
        await self.coordinator.async_request_refresh()
