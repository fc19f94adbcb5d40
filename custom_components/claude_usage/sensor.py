"""Sensors for Claude Usage: how much of each usage limit is used, and when it resets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from . import forecast
from .const import CONF_SESSION_EXPIRES
from .coordinator import ClaudeUsageConfigEntry
from .entity import (
    ClaudeUsageClockEntity,
    ClaudeUsageEntity,
    async_add_entities_as_reported,
    window_name,
)
from .models import Usage, UsageWindow
from .resets import steady
from .scraper.protocol import Backend, WindowKind

PARALLEL_UPDATES = 0

_WITH_REMAINING = frozenset({"session", "weekly"})
# A Free account reports no window at all: its session and weekly sensors exist and read unknown.
_FREE_PLAN_WINDOWS = (
    UsageWindow("session", WindowKind.SESSION, None, None, None, None),
    UsageWindow("weekly", WindowKind.WEEKLY_ALL, None, None, None, None),
)


@dataclass(frozen=True, kw_only=True)
class ClaudeUsageSensorEntityDescription(SensorEntityDescription):
    """Describes a Claude Usage sensor."""

    value_fn: Callable[[Usage], StateType | datetime]
    available_fn: Callable[[Usage], bool] = lambda _: True
    unit_fn: Callable[[Usage], str | None] | None = None
    steady: bool = False
    """A reset time that keeps its value while claude.ai's jitters by seconds."""


@dataclass(frozen=True, kw_only=True)
class ClaudeUsageForecastSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor computed from the data and the time (see forecast.py)."""

    forecast_fn: Callable[[Usage, datetime], StateType | datetime]
    available_fn: Callable[[Usage], bool] = lambda _: True


def window_descriptions(window: UsageWindow) -> list[ClaudeUsageSensorEntityDescription]:
    """Describe the sensors of one usage window."""
    key = window.key
    name_key, placeholders = window_name(window)

    def available(data: Usage) -> bool:
        # Unavailable once claude.ai stops reporting it, unless it reports no window at all.
        return key in data.windows or not data.windows

    descriptions = [
        ClaudeUsageSensorEntityDescription(
            key=f"{key}_usage",
            translation_key=f"{name_key}_usage",
            translation_placeholders=placeholders,
            native_unit_of_measurement=PERCENTAGE,
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=0,
            available_fn=available,
            value_fn=lambda data: w.utilization if (w := data.windows.get(key)) else None,
        ),
        ClaudeUsageSensorEntityDescription(
            key=f"{key}_resets",
            translation_key=f"{name_key}_resets",
            translation_placeholders=placeholders,
            device_class=SensorDeviceClass.TIMESTAMP,
            available_fn=available,
            steady=True,
            value_fn=lambda data: w.resets_at if (w := data.windows.get(key)) else None,
        ),
    ]
    if key in _WITH_REMAINING:
        descriptions.insert(
            1,
            ClaudeUsageSensorEntityDescription(
                key=f"{key}_remaining",
                translation_key=f"{key}_remaining",
                native_unit_of_measurement=PERCENTAGE,
                state_class=SensorStateClass.MEASUREMENT,
                suggested_display_precision=0,
                available_fn=available,
                value_fn=lambda data: w.remaining if (w := data.windows.get(key)) else None,
            ),
        )
    return descriptions


def window_translation_key(
    window: UsageWindow, suffix: str
) -> tuple[str, Mapping[str, str] | None]:
    """Return the translation key and placeholders of a window's entity named like its usage."""
    usage = next(d for d in window_descriptions(window) if d.key == f"{window.key}_usage")
    name_key = (usage.translation_key or window.key).removesuffix("_usage")
    return f"{name_key}_{suffix}", usage.translation_placeholders


def projected_description(window: UsageWindow) -> ClaudeUsageForecastSensorEntityDescription:
    """Describe the sensor of where a window is heading at the current pace."""
    key = window.key
    translation_key, placeholders = window_translation_key(window, "projected")
    return ClaudeUsageForecastSensorEntityDescription(
        key=f"{key}_projected",
        translation_key=translation_key,
        translation_placeholders=placeholders,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        available_fn=lambda data: key in data.windows,
        forecast_fn=lambda data, now: (
            forecast.projected(w, now) if (w := data.windows.get(key)) else None
        ),
    )


LIMIT_EXPECTED_AT = ClaudeUsageForecastSensorEntityDescription(
    key="limit_expected_at",
    translation_key="limit_expected_at",
    device_class=SensorDeviceClass.TIMESTAMP,
    forecast_fn=lambda data, now: forecast.limit_expected_at(data.windows.values(), now),
)

PLANS: dict[str, str] = {
    "claude_pro": "pro",
    "claude_max": "max",
    "claude_team": "team",
    "claude_enterprise": "enterprise",
    "claude_free": "free",
}
PLAN_OTHER = "other"


def plan_state(plan: str | None) -> str | None:
    """Return the plan sensor's state; a code claude.ai has newly made up is `other`."""
    return None if plan is None else PLANS.get(plan, PLAN_OTHER)


def _has_extra(data: Usage) -> bool:
    return data.extra_usage is not None


def _currency(data: Usage) -> str | None:
    return extra.currency if (extra := data.extra_usage) else None


EXTRA_USAGE_DESCRIPTIONS: tuple[ClaudeUsageSensorEntityDescription, ...] = (
    ClaudeUsageSensorEntityDescription(
        key="extra_usage_spent",
        translation_key="extra_usage_spent",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        available_fn=_has_extra,
        unit_fn=_currency,
        value_fn=lambda data: extra.used if (extra := data.extra_usage) else None,
    ),
    ClaudeUsageSensorEntityDescription(
        key="extra_usage_limit",
        translation_key="extra_usage_limit",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        available_fn=_has_extra,
        unit_fn=_currency,
        value_fn=lambda data: extra.limit if (extra := data.extra_usage) else None,
    ),
    ClaudeUsageSensorEntityDescription(
        key="extra_usage_utilization",
        translation_key="extra_usage_utilization",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        available_fn=_has_extra,
        value_fn=lambda data: extra.utilization if (extra := data.extra_usage) else None,
    ),
)

DIAGNOSTIC_DESCRIPTIONS: tuple[ClaudeUsageSensorEntityDescription, ...] = (
    ClaudeUsageSensorEntityDescription(
        key="plan",
        translation_key="plan",
        device_class=SensorDeviceClass.ENUM,
        options=[*PLANS.values(), PLAN_OTHER],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: plan_state(data.organization.plan),
    ),
    ClaudeUsageSensorEntityDescription(
        key="last_updated",
        translation_key="last_updated",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.fetched_at,
    ),
    ClaudeUsageSensorEntityDescription(
        key="data_source",
        translation_key="data_source",
        device_class=SensorDeviceClass.ENUM,
        options=[backend.value for backend in (Backend.HTTP, Backend.BROWSER)],
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.source.value,
    ),
)


def descriptions_for(data: Usage) -> list[ClaudeUsageSensorEntityDescription]:
    """Describe every sensor that the current data supports."""
    windows = list(data.windows.values()) or _FREE_PLAN_WINDOWS
    descriptions = [
        description for window in windows for description in window_descriptions(window)
    ]
    if data.extra_usage is not None:
        descriptions.extend(EXTRA_USAGE_DESCRIPTIONS)
    descriptions.extend(DIAGNOSTIC_DESCRIPTIONS)
    return descriptions


def forecast_descriptions_for(data: Usage) -> list[ClaudeUsageForecastSensorEntityDescription]:
    """Describe the forecast sensors: one per window of known length, and the earliest limit."""
    descriptions = [
        projected_description(window)
        for window in data.windows.values()
        if forecast.window_length(window) is not None
    ]
    descriptions.append(LIMIT_EXPECTED_AT)
    return descriptions


SESSION_EXPIRES = SensorEntityDescription(
    key="session_expires",
    translation_key="session_expires",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ClaudeUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up sensors, and add those of a usage window when it first appears."""
    async_add_entities_as_reported(
        entry,
        async_add_entities,
        descriptions_for,
        lambda description: ClaudeUsageSensorEntity(entry.runtime_data, description),
    )
    async_add_entities_as_reported(
        entry,
        async_add_entities,
        forecast_descriptions_for,
        lambda description: ClaudeUsageForecastSensorEntity(entry.runtime_data, description),
    )
    async_add_entities([ClaudeUsageSessionExpiresSensorEntity(entry.runtime_data, SESSION_EXPIRES)])


class ClaudeUsageSensorEntity(ClaudeUsageEntity, SensorEntity):
    """A Claude Usage sensor."""

    entity_description: ClaudeUsageSensorEntityDescription
    _steady: datetime | None = None

    @property
    def available(self) -> bool:
        """Return False when the data source no longer reports this sensor's data."""
        return super().available and self.entity_description.available_fn(self.coordinator.data)

    @property
    def native_value(self) -> StateType | datetime:
        """Return the sensor's value."""
        value = self.entity_description.value_fn(self.coordinator.data)
        if self.entity_description.steady and (value is None or isinstance(value, datetime)):
            value = self._steady = steady(self._steady, value)
        return value

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Return the unit; money is in the account's currency."""
        if (unit_fn := self.entity_description.unit_fn) is not None:
            return unit_fn(self.coordinator.data)
        return super().native_unit_of_measurement


class ClaudeUsageForecastSensorEntity(ClaudeUsageClockEntity, SensorEntity):
    """A sensor of where usage is heading, recomputed as the clock moves."""

    entity_description: ClaudeUsageForecastSensorEntityDescription

    @property
    def available(self) -> bool:
        """Return False when the data source no longer reports this sensor's window."""
        return super().available and self.entity_description.available_fn(self.coordinator.data)

    @property
    def native_value(self) -> StateType | datetime:
        """Return the forecast for this moment."""
        return self.entity_description.forecast_fn(self.coordinator.data, dt_util.utcnow())


class ClaudeUsageSessionExpiresSensorEntity(ClaudeUsageEntity, SensorEntity):
    """When the session cookie expires, where claude.ai said so at sign-in."""

    @property
    def native_value(self) -> datetime | None:
        """Return the expiry kept in the entry, or None where it is not known."""
        value = self.coordinator.config_entry.data.get(CONF_SESSION_EXPIRES)
        return dt_util.parse_datetime(value) if isinstance(value, str) else None
