"""Polls claude.ai through the scraper, with backoff, reauth and session-key renewal."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util.hass_dict import HassKey

from .const import (
    BACKOFF_SCHEDULE,
    BLOCKED_REPAIR_THRESHOLD,
    CONF_BACKEND,
    CONF_BASE_URL,
    CONF_ORGANIZATION,
    CONF_SESSION_EXPIRES,
    CONF_SESSION_KEY,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    ISSUE_BROWSER_UNAVAILABLE,
    LOGGER,
)
from .models import Usage
from .runner import ScraperError, ScraperRunner
from .scraper.protocol import Backend, ErrorCode

type ClaudeUsageConfigEntry = ConfigEntry[ClaudeUsageCoordinator]

BROWSER_SLOT: HassKey[asyncio.Semaphore] = HassKey(f"{DOMAIN}_browser_slot")

_AUTH_ERRORS = frozenset({ErrorCode.AUTH_INVALID, ErrorCode.ORG_UNAVAILABLE})


def browser_slot(hass: HomeAssistant) -> asyncio.Semaphore:
    """Return the instance-wide slot that lets one browser scraper run at a time."""
    if (slot := hass.data.get(BROWSER_SLOT)) is None:
        slot = hass.data[BROWSER_SLOT] = asyncio.Semaphore(1)
    return slot


def state_dir(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the private scraper state folder (cookies, browser profile) of an entry."""
    return Path(hass.config.path(STORAGE_DIR, DOMAIN, entry_id))


def create_runner(hass: HomeAssistant, base_url: str, folder: Path) -> ScraperRunner:
    """Return a runner for one claude.ai and one state folder."""
    return ScraperRunner(hass, base_url=base_url, state_dir=folder, browser_slot=browser_slot(hass))


def browser_issue_id(entry_id: str) -> str:
    """Return the repair issue id for an entry that needs a browser it cannot start."""
    return f"{ISSUE_BROWSER_UNAVAILABLE}_{entry_id}"


class ClaudeUsageCoordinator(DataUpdateCoordinator[Usage]):
    """Reads one organization's usage every few minutes."""

    config_entry: ClaudeUsageConfigEntry

    def __init__(self, hass: HomeAssistant, config_entry: ClaudeUsageConfigEntry) -> None:
        """Initialize from the entry's data and options."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=DOMAIN,
            update_interval=timedelta(
                seconds=config_entry.options.get(
                    CONF_SCAN_INTERVAL, DEFAULT_UPDATE_INTERVAL.total_seconds()
                )
            ),
        )
        self.runner = create_runner(
            hass, config_entry.data[CONF_BASE_URL], state_dir(hass, config_entry.entry_id)
        )
        self.failures = 0
        self._blocked = 0
        self._poll: asyncio.Task[Usage] | None = None

    async def async_request_refresh(self) -> None:
        """Request a refresh; a request made while a poll runs shares that poll."""
        if self._poll is not None:
            await asyncio.wait([self._poll])
            return
        await super().async_request_refresh()

    async def _async_update_data(self) -> Usage:
        """Run one poll as the entry's background task, so that unloading cancels it."""
        self._poll = self.config_entry.async_create_background_task(
            self.hass, self._async_poll(), f"{DOMAIN} poll {self.config_entry.title}"
        )
        try:
            return await self._poll
        finally:
            self._poll = None

    async def _async_poll(self) -> Usage:
        entry = self.config_entry
        session_key: str = entry.data[CONF_SESSION_KEY]
        try:
            usage = await self.runner.poll(
                session_key,
                entry.data[CONF_ORGANIZATION],
                Backend(entry.options.get(CONF_BACKEND, Backend.AUTO)),
            )
        except ScraperError as err:
            raise await self._async_failure(err) from err

        self.failures = 0
        self._blocked = 0
        ir.async_delete_issue(self.hass, DOMAIN, browser_issue_id(entry.entry_id))
        if usage.session_key and usage.session_key != session_key:
            # Saved without a reload: the update listener only reacts to options. The old
            # key's expiry does not apply to the new one, whose own the poll does not report.
            LOGGER.debug("Claude.ai renewed the session key; saving it")
            self.hass.config_entries.async_update_entry(
                entry,
                data={
                    **entry.data,
                    CONF_SESSION_KEY: usage.session_key,
                    CONF_SESSION_EXPIRES: None,
                },
            )
        return usage

    async def _async_failure(self, err: ScraperError) -> Exception:
        """Return the exception for a failed poll, and raise or keep the repair issue."""
        placeholders = {"message": err.message}
        if err.code in _AUTH_ERRORS:
            return ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key=err.code.value,
                translation_placeholders=placeholders,
            )
        self.failures += 1
        self._blocked = self._blocked + 1 if err.code is ErrorCode.BLOCKED else 0
        if err.code is ErrorCode.BROWSER_UNAVAILABLE or (self._blocked >= BLOCKED_REPAIR_THRESHOLD):
            await self._async_browser_issue()
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key=err.code.value,
            translation_placeholders=placeholders,
            retry_after=self.backoff(err.retry_after),
        )

    def backoff(self, retry_after: float | None) -> float:
        """Return the seconds until the next poll after `self.failures` failures in a row."""
        step = BACKOFF_SCHEDULE[min(self.failures, len(BACKOFF_SCHEDULE)) - 1]
        interval = self.update_interval.total_seconds() if self.update_interval else 0
        return max(step, interval, retry_after or 0)

    async def _async_browser_issue(self) -> None:
        """Raise the repair issue when a browser is needed and this host has none."""
        if (problem := await self.runner.browser_problem()) is None:
            return
        entry = self.config_entry
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            browser_issue_id(entry.entry_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_BROWSER_UNAVAILABLE,
            translation_placeholders={"title": entry.title, "problem": problem},
            learn_more_url="https://github.com/claude-usage-ha/claude_usage#browser-backend",
        )
