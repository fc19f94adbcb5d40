"""Base entity for Claude Usage: one service device per organization."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_BASE_URL, CONF_ORGANIZATION, DOMAIN, USAGE_PAGE
from .coordinator import ClaudeUsageCoordinator


def plan_name(plan: str | None) -> str | None:
    """Return a plan code such as `claude_max` as people know it ("Claude Max")."""
    return plan.replace("_", " ").title() if plan else None


class ClaudeUsageEntity(CoordinatorEntity[ClaudeUsageCoordinator]):
    """An entity of one Claude organization."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: ClaudeUsageCoordinator, description: EntityDescription) -> None:
        """Initialize with the organization's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        organization = coordinator.data.organization
        uuid: str = entry.data[CONF_ORGANIZATION]
        self.entity_description = description
        self._attr_unique_id = f"{uuid}_{description.key}"
        self._attr_device_info = DeviceInfo(
            configuration_url=f"{entry.data[CONF_BASE_URL]}{USAGE_PAGE}",
            entry_type=DeviceEntryType.SERVICE,
            identifiers={(DOMAIN, uuid)},
            manufacturer="Anthropic",
            model=plan_name(organization.plan),
            model_id=organization.rate_limit_tier,
            name=organization.name or entry.title,
        )
