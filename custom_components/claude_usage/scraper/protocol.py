"""The scraper's command-line and JSON contract, shared by the scraper and the integration.

Standard library only: the integration imports this module, and the scraper runs it in a
process that must start fast and never imports Home Assistant.
"""

from __future__ import annotations

from enum import StrEnum
import re
from typing import Final

PROTOCOL_VERSION: Final = 1
DEFAULT_BASE_URL: Final = "https://claude.ai"

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2

DEFAULT_TIMEOUT: Final = 30.0
"""Whole-command deadline for `poll` and `check`, in seconds."""
LOGIN_EMAIL_STEP_TIMEOUT: Final = 120.0
"""Deadline for each step of `login --email` (sign-in page, then the code)."""
LOGIN_HEADED_TIMEOUT: Final = 600.0
"""How long `login --headed` waits for the person to sign in."""


class Command(StrEnum):
    """The scraper's sub-commands."""

    POLL = "poll"
    CHECK = "check"
    LOGIN = "login"


class Backend(StrEnum):
    """How the scraper reaches claude.ai."""

    AUTO = "auto"
    HTTP = "http"
    BROWSER = "browser"


class Status(StrEnum):
    """The `status` field of every result."""

    OK = "ok"
    ERROR = "error"


class ErrorCode(StrEnum):
    """The `error` field of an error result (ARCHITECTURE.md, "Errors")."""

    AUTH_INVALID = "auth_invalid"
    ORG_UNAVAILABLE = "org_unavailable"
    NO_ORGANIZATION = "no_organization"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    NETWORK = "network"
    TIMEOUT = "timeout"
    BAD_RESPONSE = "bad_response"
    BROWSER_UNAVAILABLE = "browser_unavailable"
    LOGIN_FAILED = "login_failed"
    INTERNAL = "internal"


class WindowKind(StrEnum):
    """The `kind` of a usage window."""

    SESSION = "session"
    WEEKLY_ALL = "weekly_all"
    WEEKLY_SCOPED = "weekly_scoped"
    OTHER = "other"


_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """Return a name as it appears in window keys: lower-case ASCII words joined by `_`.

    Window keys end up in entity unique ids, so both sides must slug names the same way; an
    empty result means the name has no usable key.
    """
    return _NON_SLUG.sub("_", name.strip().lower()).strip("_")


class LoginEvent(StrEnum):
    """Progress lines that `login` prints before its result."""

    CODE_REQUIRED = "code_required"
