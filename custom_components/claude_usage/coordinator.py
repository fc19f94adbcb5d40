"""Polls claude.ai through the scraper, with backoff, reauth and session-key renewal."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
import time
from typing import Any, Final, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .backoff import Backoff, async_load_backoff, backoff_store
from .const import (
    BLOCKED_REPAIR_THRESHOLD,
    CONF_BACKEND,
    CONF_BASE_URL,
    CONF_ORGANIZATION,
    CONF_SESSION_EXPIRES,
    CONF_SESSION_KEY,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .health import RequestHealth
from .issues import (
    BAD_RESPONSE_REPAIR_THRESHOLD,
    RATE_LIMITED_REPAIR_AFTER,
    async_create_bad_response_issue,
    async_create_browser_issue,
    async_create_rate_limited_issue,
    async_delete_issues,
)
from .models import Usage
from .runner import ScraperError, ScraperRunner
from .scraper.protocol import Backend, ErrorCode
from .scraper.redact import redact_sample

type ClaudeUsageConfigEntry = ConfigEntry[ClaudeUsageCoordinator]

BROWSER_SLOT: HassKey[asyncio.Semaphore] = HassKey(f"{DOMAIN}_browser_slot")

STOP_TIMEOUT: Final = 5.0
"""Seconds a stop waits at most for the tasks that wait for a cancelled poll."""

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


def local_time(moment: datetime) -> str:
    """Return a moment as a person reads it in Home Assistant's time zone."""
    return dt_util.as_local(moment).strftime("%Y-%m-%d %H:%M:%S")


class ClaudeUsageCoordinator(DataUpdateCoordinator[Usage]):
    """Reads one organization's usage every few minutes.

    The backoff decides when the next poll goes out, from the first poll on: Home Assistant's
    setup retry (10 to 80 s) would ignore claude.ai's Retry-After, so a failed first poll
    leaves the entry loaded with unavailable entities, and `update_interval` always holds the
    time until the next poll that the backoff allows.
    """

    config_entry: ClaudeUsageConfigEntry

    def __init__(self, hass: HomeAssistant, config_entry: ClaudeUsageConfigEntry) -> None:
        """Initialize from the entry's data and options."""
        self.interval = timedelta(
            seconds=config_entry.options.get(
                CONF_SCAN_INTERVAL, DEFAULT_UPDATE_INTERVAL.total_seconds()
            )
        )
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=DOMAIN,
            update_interval=self.interval,
        )
        self.runner = create_runner(
            hass, config_entry.data[CONF_BASE_URL], state_dir(hass, config_entry.entry_id)
        )
        self.backoff = Backoff()
        self.health = RequestHealth()
        self.next_poll: datetime | None = None
        self._store = backoff_store(hass, config_entry.entry_id)
        self._blocked = 0
        self._poll: asyncio.Task[Usage] | None = None
        self._callers: set[asyncio.Task[Any]] = set()

    @property
    def has_data(self) -> bool:
        """Return True once a poll has succeeded (an entry can load without data)."""
        return cast(Usage | None, self.data) is not None

    @property
    def failures(self) -> int:
        """Return the failed polls in a row."""
        return self.backoff.failures

    async def async_first_poll(self) -> None:
        """Load the saved backoff, then poll now unless it says to wait.

        An invalid session still fails the setup (and starts reauth); any other failure
        leaves the entry loaded, and the backoff schedules the next poll.
        """
        self.backoff = await async_load_backoff(self._store)
        now = dt_util.utcnow()
        if not self.backoff.sane(now, self.interval.total_seconds()):
            LOGGER.warning(
                "Ignoring the saved wait until %s: it is longer than claude.ai asked for "
                "(was the clock wrong?)",
                local_time(self.backoff.next_request or now),
            )
            self.backoff = Backoff()
        if wait := self.backoff.seconds_until_due(now):
            self.last_update_success = False
            self._plan_next(wait)
            LOGGER.info(
                "Not polling %s before %s: the backoff of an earlier failure is still running",
                self.config_entry.title,
                local_time(now + timedelta(seconds=wait)),
            )
            return
        try:
            await self.async_config_entry_first_refresh()
        except ConfigEntryNotReady:
            # Logged here because the first refresh logs nothing; later ones log themselves.
            LOGGER.warning("Error fetching %s data: %s", self.name, self.last_exception)

    async def async_stop(self, _event: Event) -> None:
        """Home Assistant stops: start no poll any more, and end the one that runs.

        Home Assistant has cancelled the poll already; what is left are the tasks that wait
        for it (a button press, a refresh queued behind the debouncer). They are Home
        Assistant's own, and its last stage warns about any that still runs, so this waits
        (Home Assistant waits for this) until the killed scraper has let them go.
        """
        await self.async_shutdown()
        waiting = set(self._callers)
        if self._poll is not None:
            self._poll.cancel()
            waiting.add(self._poll)
        if waiting:
            await asyncio.wait(waiting, timeout=STOP_TIMEOUT)

    def _plan_next(self, seconds: float) -> None:
        """Let the next scheduled poll come `seconds` from now."""
        if self.backoff.wait_until is not None:
            # The coordinator's timer rounds the loop's clock down: without this second it
            # could fire just before the window's end, only to be refused and set again.
            seconds += 1
        self.update_interval = timedelta(seconds=seconds)
        self.next_poll = dt_util.utcnow() + self.update_interval

    def retry_after_window_end(self) -> datetime | None:
        """Return the end of claude.ai's Retry-After window, or None outside one."""
        return self.backoff.wait_until if self.backoff.waiting(dt_util.utcnow()) else None

    async def async_request_refresh(self) -> None:
        """Request a refresh; a request made while a poll runs shares that poll."""
        caller = asyncio.current_task()
        if caller is not None:
            self._callers.add(caller)
        try:
            if self._poll is not None:
                await asyncio.wait([self._poll])
                return
            await super().async_request_refresh()
        finally:
            if caller is not None:
                self._callers.discard(caller)

    async def _async_update_data(self) -> Usage:
        """Run one poll as the entry's background task, so that unloading cancels it."""
        if (until := self.retry_after_window_end()) is not None:
            # Nothing goes to claude.ai before the end of the window it asked for.
            self.health.refused += 1
            self._plan_next(self.backoff.seconds_until_due(dt_util.utcnow()))
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="retry_after_window",
                translation_placeholders={"until": local_time(until)},
            )
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
        started = time.monotonic()
        try:
            usage = await self.runner.poll(
                session_key,
                entry.data[CONF_ORGANIZATION],
                Backend(entry.options.get(CONF_BACKEND, Backend.AUTO)),
            )
        except ScraperError as err:
            raise await self._async_failure(err, time.monotonic() - started) from err

        self.health.record_success(time.monotonic() - started, usage.source)
        await self._async_success()
        if usage.session_key and usage.session_key != session_key:
            # Saved without a reload: the update listener only reacts to options. The old
            # key's expiry does not apply to the new one: the poll reports the new cookie's.
            LOGGER.debug("Claude.ai renewed the session key; saving it")
            self.hass.config_entries.async_update_entry(
                entry,
                data={
                    **entry.data,
                    CONF_SESSION_KEY: usage.session_key,
                    CONF_SESSION_EXPIRES: expires.isoformat()
                    if (expires := usage.session_key_expires_at)
                    else None,
                },
            )
        return usage

    async def _async_success(self) -> None:
        """Clear the backoff and the repair issues."""
        self._blocked = 0
        self._plan_next(self.interval.total_seconds())
        async_delete_issues(self.hass, self.config_entry.entry_id)
        if self.backoff != Backoff():
            self.backoff = Backoff()
            await self._store.async_save(self.backoff.as_dict())

    async def _async_failure(self, err: ScraperError, seconds: float) -> Exception:
        """Return the exception for a failed poll; update the backoff and the repair issues."""
        now = dt_util.utcnow()
        self.health.record_failure(seconds, err.code.value, now)
        placeholders = {"message": err.message}
        if err.code in _AUTH_ERRORS:
            # No backoff: reauth stops the polls until the person signs in again.
            return ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key=err.code.value,
                translation_placeholders=placeholders,
            )
        delay = self.backoff.record_failure(
            err.code, err.retry_after, self.interval.total_seconds(), now
        )
        self._plan_next(delay)
        await self._store.async_save(self.backoff.as_dict())
        await self._async_update_issues(err, now)
        if err.code is ErrorCode.RATE_LIMITED:
            placeholders["until"] = local_time(self.backoff.wait_until or self.next_poll or now)
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key=err.code.value,
            translation_placeholders=placeholders,
        )

    async def _async_update_issues(self, err: ScraperError, now: datetime) -> None:
        """Raise the repair issues that this failure, and the ones before it, call for."""
        entry = self.config_entry
        backoff = self.backoff
        self._blocked = self._blocked + 1 if err.code is ErrorCode.BLOCKED else 0
        needs_browser = err.code is ErrorCode.BROWSER_UNAVAILABLE
        if (needs_browser or self._blocked >= BLOCKED_REPAIR_THRESHOLD) and (
            problem := await self.runner.browser_problem()
        ) is not None:
            async_create_browser_issue(self.hass, entry.entry_id, entry.title, problem)
        since = backoff.rate_limited_since
        if since and backoff.rate_limited_for(now) > RATE_LIMITED_REPAIR_AFTER:
            async_create_rate_limited_issue(
                self.hass, entry.entry_id, entry.title, since, backoff.wait_until
            )
        if err.code is ErrorCode.BAD_RESPONSE:
            if backoff.bad_responses == 1:
                self._log_sample(err)
            if backoff.bad_responses >= BAD_RESPONSE_REPAIR_THRESHOLD:
                async_create_bad_response_issue(
                    self.hass, entry.entry_id, entry.title, backoff.bad_response_since or now
                )

    def _log_sample(self, err: ScraperError) -> None:
        """Log the start of an answer that did not parse, once per run of them."""
        entry = self.config_entry
        names = [entry.title]
        if self.has_data and self.data.organization.name:
            names.append(self.data.organization.name)
        sample = redact_sample(err.sample or "", (entry.data[CONF_SESSION_KEY],), names)
        # No entry title: it is the organization's name, and samples get pasted into issues.
        LOGGER.warning(
            "Claude.ai sent an answer this integration does not understand (%s); "
            "its first 500 characters, redacted, are: %s",
            err.message,
            sample or "(no body)",
        )
