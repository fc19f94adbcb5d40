"""Fixes for Claude Usage's repair issues."""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

# Newer Home Assistant types this RepairsFlowResult, which 2026.1 cannot import; FlowResult,
# the type it specialises, exists on every supported version.
from homeassistant.data_entry_flow import FlowResult

from .const import ISSUE_SESSION_EXPIRING
from .expiry import ATTR_ENTRY_ID


class SessionExpiringRepairFlow(ConfirmRepairFlow):
    """Sign in again before the session expires: confirming starts the reauth flow."""

    def __init__(self, entry: ConfigEntry) -> None:
        """Initialize for one entry."""
        super().__init__()
        self._entry = entry

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> FlowResult:
        """Explain, then hand over to the reauth flow (listed under the integration)."""
        if user_input is not None:
            self._entry.async_start_reauth(self.hass)
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the flow that fixes a fixable issue."""
    if issue_id.startswith(ISSUE_SESSION_EXPIRING) and data:
        entry_id = data.get(ATTR_ENTRY_ID)
        if isinstance(entry_id, str) and (entry := hass.config_entries.async_get_entry(entry_id)):
            return SessionExpiringRepairFlow(entry)
    raise ValueError(f"no fix for the repair issue {issue_id}")
