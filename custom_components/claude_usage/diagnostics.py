"""Diagnostics for Claude Usage; the session key, email and organization name are redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_EMAIL
from homeassistant.core import HomeAssistant

from .const import CONF_SESSION_KEY
from .coordinator import ClaudeUsageConfigEntry

TO_REDACT = {CONF_SESSION_KEY, CONF_EMAIL, "name", "title"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ClaudeUsageConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    coordinator = entry.runtime_data
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "coordinator": {
                "last_update_success": coordinator.last_update_success,
                "last_exception": repr(coordinator.last_exception),
                "consecutive_failures": coordinator.failures,
                "update_interval": coordinator.update_interval.total_seconds()
                if coordinator.update_interval
                else None,
            },
            "request_health": {
                **coordinator.health.as_dict(),
                "next_scheduled_poll": coordinator.next_poll.isoformat()
                if coordinator.next_poll
                else None,
                "backoff": coordinator.backoff.as_dict(),
            },
            # A Free account's report has every window null: say so, it is not a failure.
            "limits": (sorted(coordinator.data.windows) or "no limits reported")
            if coordinator.has_data
            else None,
            "data": asdict(coordinator.data) if coordinator.has_data else None,
        },
        TO_REDACT,
    )
