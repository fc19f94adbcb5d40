"""Binary sensors for Claude Usage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import forecast
from .coordinator import ClaudeUsageConfigEntry
from .entity import ClaudeUsageClockEntity, ClaudeUsageEntity, async_add_entities_as_reported
from .models import Usage

PARALLEL_UPDATES = 0

LIMIT = 100.0


@dataclass(frozen=True, kw_only=True)
class ClaudeUsageBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a Claude Usage binary sensor."""

    is_on_fn: Callable[[Usage], bool | None]
    exists_fn: Callable[[Usage], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class ClaudeUsageForecastBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a binary sensor computed from the data and the time (see forecast.py)."""

    forecast_fn: Callable[[Usage, datetime], bool | None]


LIMIT_FORECAST = ClaudeUsageForecastBinarySensorEntityDescription(
    key="limit_forecast",
    translation_key="limit_forecast",
    forecast_fn=lambda data, now: forecast.limit_forecast(data.windows.values(), now),
)


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
    # Like the window sensors it forecasts from, it comes with the first data.
    async_add_entities_as_reported(
        entry,
        async_add_entities,
        lambda _data: [LIMIT_FORECAST],
        lambda description: ClaudeUsageForecastBinarySensorEntity(entry.runtime_data, description),
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


class ClaudeUsageForecastBinarySensorEntity(ClaudeUsageClockEntity, BinarySensorEntity):
    """A binary sensor of where usage is heading, recomputed as the clock moves."""

    entity_description: ClaudeUsageForecastBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return the forecast for this moment."""
        return self.entity_description.forecast_fn(self.coordinator.data, dt_util.utcnow())
