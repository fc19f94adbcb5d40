"""Constants for the Claude Usage integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "claude_usage"
LOGGER = logging.getLogger(__package__)

CONF_SESSION_KEY: Final = "session_key"
CONF_ORGANIZATION: Final = "organization_uuid"
CONF_BASE_URL: Final = "base_url"
CONF_BACKEND: Final = "backend"
CONF_CODE: Final = "code"
CONF_SESSION_EXPIRES: Final = "session_expires_at"
"""Entry data: when the session cookie expires (ISO 8601), where the sign-in told; else absent."""

BASE_URL_ENV: Final = "CLAUDE_USAGE_BASE_URL"
"""Development only: a new entry talks to this claude.ai instead of the real one.

The config flow reads it when it creates an entry and stores it in the entry's data
(`base_url`); the demo and the tests point it at the local look-alike server. Existing
entries keep the URL they were created with.
"""

DEFAULT_UPDATE_INTERVAL: Final = timedelta(seconds=300)
MIN_UPDATE_INTERVAL: Final = 60
MAX_UPDATE_INTERVAL: Final = 3600

BACKOFF_SCHEDULE: Final = (300, 600, 1200, 2400, 3600)
"""Seconds to wait after the 1st, 2nd, ... consecutive failed poll; the last value is the cap."""

BLOCKED_REPAIR_THRESHOLD: Final = 3
"""Consecutive Cloudflare challenges (with no browser to pass them) before a repair issue."""

ISSUE_BROWSER_UNAVAILABLE: Final = "browser_unavailable"
ISSUE_SESSION_EXPIRING: Final = "session_expiring"
SESSION_EXPIRY_WARNING: Final = timedelta(days=3)
"""How long before a known session expiry the repair issue asks to sign in again."""

USAGE_PAGE: Final = "/settings/usage"
