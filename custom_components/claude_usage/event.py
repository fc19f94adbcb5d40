"""Reset events: one per usage window, fired once when the window really resets.

What was last seen of a window is kept in Home Assistant's restore state, next to the event
entity's own last event (EventEntity is a RestoreEntity already): it lives and goes with the
entity, needs no file of its own, and survives restarts and reloads. The first poll after one
is compared with it, so a restart or reload in the middle of a window fires nothing, while a
reset that happened while Home Assistant was down is still told, once. A new entity that has
seen nothing yet takes its first poll as the starting point and fires nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from homeassistant.components.event import (
    EventEntity,
    EventEntityDescription,
    EventExtraStoredData,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import async_get as async_get_restore_state

from .coordinator import ClaudeUsageConfigEntry
from .entity import ClaudeUsageEntity, async_add_entities_as_reported
from .models import Usage, UsageWindow
from .resets import SeenWindow
from .sensor import window_translation_key

PARALLEL_UPDATES = 0

EVENT_RESET = "reset"
ATTR_WINDOW = "window"
ATTR_UTILIZATION = "utilization"


@dataclass(frozen=True, kw_only=True)
class ClaudeUsageEventEntityDescription(EventEntityDescription):
    """Describes the reset event of one usage window."""

    window: str


def reset_description(window: UsageWindow) -> ClaudeUsageEventEntityDescription:
    """Describe a window's reset event, named like its usage sensor."""
    translation_key, placeholders = window_translation_key(window, "reset")
    return ClaudeUsageEventEntityDescription(
        key=f"{window.key}_reset",
        translation_key=translation_key,
        translation_placeholders=placeholders,
        event_types=[EVENT_RESET],
        window=window.key,
    )


def descriptions_for(data: Usage) -> list[ClaudeUsageEventEntityDescription]:
    """Describe a reset event for every window the data reports."""
    return [reset_description(window) for window in data.windows.values()]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ClaudeUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up reset events, and add a window's when the window first appears."""
    async_add_entities_as_reported(
        entry,
        async_add_entities,
        descriptions_for,
        lambda description: ClaudeUsageResetEventEntity(entry.runtime_data, description),
    )


@dataclass
class ResetExtraStoredData(EventExtraStoredData):
    """The event's own restore data, and what was last seen of its window."""

    seen: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """Return a dict representation of the stored data."""
        return {**super().as_dict(), "seen": self.seen}

    @classmethod
    def from_dict(cls, restored: dict[str, Any]) -> Self | None:
        """Initialize the stored data from a dict."""
        if (event := EventExtraStoredData.from_dict(restored)) is None:
            return None
        return cls(event.last_event_type, event.last_event_attributes, restored.get("seen"))


class ClaudeUsageResetEventEntity(ClaudeUsageEntity, EventEntity):
    """Fires `reset` when a usage window ends and a fresh one begins."""

    entity_description: ClaudeUsageEventEntityDescription
    _seen: SeenWindow | None = None

    @property
    def available(self) -> bool:
        """Return False when the data source no longer reports this window."""
        return super().available and self.entity_description.window in self.coordinator.data.windows

    async def async_added_to_hass(self) -> None:
        """Recall what was seen before a restart or reload, and compare the current poll."""
        await super().async_added_to_hass()
        if (extra := await self.async_get_last_extra_data()) is not None and (
            stored := ResetExtraStoredData.from_dict(extra.as_dict())
        ) is not None:
            self._seen = SeenWindow.from_dict(stored.seen)
        self._async_compare(write=False)

    @property
    def extra_restore_state_data(self) -> ResetExtraStoredData:
        """Return the event's restore data with the window last seen."""
        event = super().extra_restore_state_data
        return ResetExtraStoredData(
            event.last_event_type,
            event.last_event_attributes,
            self._seen.as_dict() if self._seen else None,
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        self._async_compare(write=True)

    @callback
    def _async_compare(self, *, write: bool) -> None:
        """Fire when the polled window is a fresh one after the window seen last."""
        window = self.coordinator.data.windows.get(self.entity_description.window)
        if window is None:
            # Not reported this time: keep what was seen, to compare when it is back.
            if write:
                self.async_write_ha_state()
            return
        seen, self._seen = self._seen, SeenWindow.of(window)
        if seen is not None and seen.reset_by(window):
            self._trigger_event(
                EVENT_RESET,
                {ATTR_WINDOW: window.key, ATTR_UTILIZATION: seen.utilization},
            )
            # Saved at once, so that a crash before the next periodic save cannot fire it twice.
            self.hass.async_create_task(
                async_get_restore_state(self.hass).async_dump_states(),
                f"claude_usage save {self.entity_id}",
            )
            write = True
        if write:
            self.async_write_ha_state()
