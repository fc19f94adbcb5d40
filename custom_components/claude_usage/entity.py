"""Base entity for Claude Usage: one service device per organization."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_BASE_URL, CONF_ORGANIZATION, DOMAIN, USAGE_PAGE
from .coordinator import ClaudeUsageConfigEntry, ClaudeUsageCoordinator
from .models import Usage, UsageWindow
from .scraper.protocol import WindowKind, slug

# Windows with a name of their own; other windows are named by their model, surface or kind.
NAMED_WINDOWS = frozenset({"session", "weekly", "weekly_oauth_apps", "weekly_cowork"})


def window_name(window: UsageWindow) -> tuple[str, dict[str, str] | None]:
    """Return the translation key prefix and placeholders that name a window's entities.

    `weekly_model` reads "Weekly Opus", `weekly_surface` "Weekly Claude Code", and `other`
    (a kind claude.ai added later) is named from the kind: "Daily routines".
    """
    if window.key in NAMED_WINDOWS:
        return window.key, None
    if window.kind is WindowKind.OTHER:
        return "other", {"name": _other_name(window)}
    if window.model is None and window.surface is not None:
        return "weekly_surface", {"surface": _readable(window.surface)}
    model = window.model or window.key.removeprefix("weekly_").replace("_", " ").title()
    return "weekly_model", {"model": model}


def _other_name(window: UsageWindow) -> str:
    """Name a window of a new kind from its key, `<kind>` or `<kind>_<model or surface>`."""
    scope = window.model or (_readable(window.surface) if window.surface else None)
    kind = window.key
    if scope and kind.endswith(suffix := f"_{slug(scope)}"):
        kind = kind.removesuffix(suffix)
    kind = kind.replace("_", " ")
    name = kind[:1].upper() + kind[1:]
    return f"{name} {scope}" if scope else name


def _readable(name: str) -> str:
    """Turn an identifier that stands in for a name (`claude_in_chrome`) into words."""
    if " " in name or "_" not in name:
        return name
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


CLOCK_INTERVAL = timedelta(minutes=1)
"""How often entities that depend on the time (forecasts) are written between polls."""


def plan_name(plan: str | None) -> str | None:
    """Return a plan code such as `claude_max` as people know it ("Claude Max")."""
    return plan.replace("_", " ").title() if plan else None


def async_add_entities_as_reported[DescriptionT: EntityDescription](
    entry: ClaudeUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    reported: Callable[[Usage], Iterable[DescriptionT]],
    create: Callable[[DescriptionT], Entity],
) -> None:
    """Add an entity per description the data supports, now and whenever a new one appears.

    Claude adds usage windows (new models) without notice; their entities come without a reload.
    """
    coordinator = entry.runtime_data
    known: set[str] = set()

    @callback
    def async_add_new() -> None:
        if not coordinator.has_data:
            return  # set up without data (claude.ai failed): they come with the first success
        new = [
            description
            for description in reported(coordinator.data)
            if description.key not in known
        ]
        known.update(d.key for d in new)
        if new:
            async_add_entities(create(d) for d in new)

    async_add_new()
    entry.async_on_unload(coordinator.async_add_listener(async_add_new))


class ClaudeUsageEntity(CoordinatorEntity[ClaudeUsageCoordinator]):
    """An entity of one Claude organization."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: ClaudeUsageCoordinator, description: EntityDescription) -> None:
        """Initialize with the organization's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        # The refresh button exists before the first success; the sensors fill in the rest.
        organization = coordinator.data.organization if coordinator.has_data else None
        uuid: str = entry.data[CONF_ORGANIZATION]
        self.entity_description = description
        self._attr_unique_id = f"{uuid}_{description.key}"
        self._attr_device_info = DeviceInfo(
            configuration_url=f"{entry.data[CONF_BASE_URL]}{USAGE_PAGE}",
            entry_type=DeviceEntryType.SERVICE,
            identifiers={(DOMAIN, uuid)},
            manufacturer="Anthropic",
            model=plan_name(organization.plan) if organization else None,
            model_id=organization.rate_limit_tier if organization else None,
            name=(organization.name if organization else None) or entry.title,
        )


class ClaudeUsageClockEntity(ClaudeUsageEntity):
    """An entity whose state follows the clock as well as the data: a forecast.

    Polls come every few minutes or less often; written every minute in between, a dashboard
    and an automation see a forecast of now, not of the last poll.
    """

    async def async_added_to_hass(self) -> None:
        """Start following the clock."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_track_time_interval(self.hass, self._async_clock_moved, CLOCK_INTERVAL)
        )

    @callback
    def _async_clock_moved(self, now: datetime) -> None:
        self.async_write_ha_state()
