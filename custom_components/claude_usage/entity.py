"""Base entity for Claude Usage: one service device per organization."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_BASE_URL, CONF_ORGANIZATION, DOMAIN, USAGE_PAGE
from .coordinator import ClaudeUsageConfigEntry, ClaudeUsageCoordinator
from .models import Usage


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
