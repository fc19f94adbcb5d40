"""Repair issues of an entry: trouble that lasts and that a person should know about."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, ISSUE_BROWSER_UNAVAILABLE

ISSUE_RATE_LIMITED: Final = "rate_limited"
ISSUE_BAD_RESPONSE: Final = "bad_response"
ISSUES: Final = (ISSUE_BROWSER_UNAVAILABLE, ISSUE_RATE_LIMITED, ISSUE_BAD_RESPONSE)

RATE_LIMITED_REPAIR_AFTER: Final = timedelta(hours=1)
"""Rate limited for longer than this, in a row, raises a repair issue."""
BAD_RESPONSE_REPAIR_THRESHOLD: Final = 3
"""Polls in a row whose answer did not parse before a repair issue."""

_LEARN_MORE: Final = "https://github.com/claude-usage-ha/claude_usage#troubleshooting"


def issue_id(kind: str, entry_id: str) -> str:
    """Return the id of an entry's repair issue of one kind."""
    return f"{kind}_{entry_id}"


def browser_issue_id(entry_id: str) -> str:
    """Return the repair issue id for an entry that needs a browser it cannot start."""
    return issue_id(ISSUE_BROWSER_UNAVAILABLE, entry_id)


def _since(moment: datetime) -> str:
    return dt_util.as_local(moment).strftime("%Y-%m-%d %H:%M")


def async_create_browser_issue(
    hass: HomeAssistant, entry_id: str, title: str, problem: str
) -> None:
    """Say that a browser is needed and this host cannot start one."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        browser_issue_id(entry_id),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_BROWSER_UNAVAILABLE,
        translation_placeholders={"title": title, "problem": problem},
        learn_more_url="https://github.com/claude-usage-ha/claude_usage#browser-backend",
    )


def async_create_rate_limited_issue(
    hass: HomeAssistant, entry_id: str, title: str, since: datetime, until: datetime | None
) -> None:
    """Say that claude.ai has refused the polls for more than an hour."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_RATE_LIMITED, entry_id),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_RATE_LIMITED,
        translation_placeholders={
            "title": title,
            "since": _since(since),
            "until": _since(until) if until else "-",
        },
        learn_more_url=_LEARN_MORE,
    )


def async_create_bad_response_issue(
    hass: HomeAssistant, entry_id: str, title: str, since: datetime
) -> None:
    """Say that claude.ai's answers stopped parsing: the integration needs an update."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_BAD_RESPONSE, entry_id),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_BAD_RESPONSE,
        translation_placeholders={"title": title, "since": _since(since)},
        learn_more_url=_LEARN_MORE,
    )


def async_delete_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Remove every repair issue of an entry (after a success, or with the entry)."""
    for kind in ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))
