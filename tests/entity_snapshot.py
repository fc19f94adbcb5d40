"""Entities as plain data for snapshots, the same on every Home Assistant version tested.

Home Assistant's own snapshot serializers follow its registry and state classes, whose fields
change between releases (2026.10 renamed and added several); pinning those would tie the
snapshots to one version. What is pinned here is what this integration decides.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from homeassistant.core import State
from homeassistant.helpers import entity_registry as er

REGISTRY_FIELDS = (
    "entity_id",
    "unique_id",
    "platform",
    "translation_key",
    "has_entity_name",
    "original_device_class",
    "original_icon",
    "unit_of_measurement",
    "entity_category",
    "disabled_by",
    "hidden_by",
    "capabilities",
    "supported_features",
)


def plain(value: Any) -> Any:
    """Enums as their values, mappings and sequences recursively, keys as strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(plain(key)): plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def registry_entry(entry: er.RegistryEntry) -> dict[str, Any]:
    """The registry fields that this integration sets, or that its descriptions decide."""
    return {field: plain(getattr(entry, field)) for field in REGISTRY_FIELDS}


def state_view(state: State, *, attributes_only: bool = False) -> dict[str, Any]:
    """A state's value and attributes (the value left out where it is the clock's)."""
    view: dict[str, Any] = {"attributes": plain(dict(state.attributes))}
    if not attributes_only:
        view["state"] = state.state
    return view
