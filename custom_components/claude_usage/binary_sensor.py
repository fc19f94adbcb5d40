"""Binary sensors for Claude Usage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ClaudeUsageConfigEntry
from .entity import ClaudeUsageEntity, async_add_entities_as_reported
from .models import Usage

PARALLEL_UPDATES = 0

LIMIT = 100.0


@dataclass(frozen=True, kw_only=True)
class ClaudeUsageBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a Claude Usage binary sensor."""

    is_on_fn: Callable[[Usage], bool | None]
    exists_fn: Callable[[Usage], bool] = lambda _: True


def _limit_reached(data: Usage) -> bool:
    return any(
        window.utilization is not None and window.utilization >= LIMIT
        for window in data.windows.values()
    )


DESCRIPTIONS: tuple[ClaudeUsageBinarySensorEntityDescription, ...] = (
    ClaudeUsageBinarySensorEntityDescription(
        key="limit_reached",
        translation_key="limit_reached",
        is_on_fn=_limit_reached,
    ),
    ClaudeUsageBinarySensorEntityDescription(
        key="extra_usage_enabled",
        translation_key="extra_usage_enabled",
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda data: data.extra_usage is not None,
        is_on_fn=lambda data: data.extra_usage is not None and data.extra_usage.enabled,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ClaudeUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up binary sensors; extra usage's appears once the account reports it."""
    async_add_entities_as_reported(
        entry,
        async_add_entities,
        lambda data: [d for d in DESCRIPTIONS if d.exists_fn(data)],
        lambda description: ClaudeUsageBinarySensorEntity(entry.runtime_data, description),
    )


class ClaudeUsageBinarySensorEntity(ClaudeUsageEntity, BinarySensorEntity):
    """A Claude Usage binary sensor."""

    entity_description: ClaudeUsageBinarySensorEntityDescription

    @property
    def available(self) -> bool:
        """Return False when the data source no longer reports this sensor's data."""
        return super().available and self.entity_description.exists_fn(self.coordinator.data)

    @property
    def is_on(self) -> bool | None:
        """Return the state."""
        return self.entity_description.is_on_fn(self.coordinator.data)
