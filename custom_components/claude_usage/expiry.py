"""A repair issue a few days before the session cookie expires, while signing in again is easy.

The expiry is known where the sign-in reported it (the `login` result's `expires_at`, kept in
the entry's data); for a pasted session key it is not, and nothing is raised.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import CONF_SESSION_EXPIRES, DOMAIN, ISSUE_SESSION_EXPIRING, SESSION_EXPIRY_WARNING
from .coordinator import ClaudeUsageConfigEntry

ATTR_ENTRY_ID = "entry_id"


def expiry_issue_id(entry_id: str) -> str:
    """Return the repair issue id for an entry whose session expires soon."""
    return f"{ISSUE_SESSION_EXPIRING}_{entry_id}"


def session_expires(entry: ClaudeUsageConfigEntry) -> datetime | None:
    """Return when the entry's session cookie expires, where that is known."""
    value = entry.data.get(CONF_SESSION_EXPIRES)
    return dt_util.parse_datetime(value) if isinstance(value, str) else None


@callback
def async_track_session_expiry(hass: HomeAssistant, entry: ClaudeUsageConfigEntry) -> CALLBACK_TYPE:
    """Raise the issue when a known expiry is near; follow the entry's key as it changes.

    Checked at set-up, after every poll (claude.ai may have renewed the key) and at the moment
    the warning is due. Returns the callback that stops it and withdraws the issue.
    """
    issue_id = expiry_issue_id(entry.entry_id)
    cancel_timer: CALLBACK_TYPE | None = None

    @callback
    def async_check(_: datetime | None = None) -> None:
        nonlocal cancel_timer
        if cancel_timer is not None:
            cancel_timer()
            cancel_timer = None
        if (expires := session_expires(entry)) is None:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
            return
        warn_at = expires - SESSION_EXPIRY_WARNING
        if dt_util.utcnow() < warn_at:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
            cancel_timer = async_track_point_in_utc_time(hass, async_check, warn_at)
            return
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            data={ATTR_ENTRY_ID: entry.entry_id},
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_SESSION_EXPIRING,
            translation_placeholders={
                "title": entry.title,
                "expires": dt_util.as_local(expires).strftime("%Y-%m-%d %H:%M"),
            },
        )

    @callback
    def async_stop() -> None:
        remove_listener()
        if cancel_timer is not None:
            cancel_timer()
        ir.async_delete_issue(hass, DOMAIN, issue_id)

    remove_listener = entry.runtime_data.async_add_listener(async_check)
    async_check()
    return async_stop
