"""Polling: backoff, Retry-After, reauth, key renewal, single flight, the browser slot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_SCAN_INTERVAL, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.claude_usage import child as child_module, runner as runner_module
from custom_components.claude_usage.const import (
    CONF_BACKEND,
    CONF_BASE_URL,
    CONF_ORGANIZATION,
    CONF_SESSION_EXPIRES,
    CONF_SESSION_KEY,
    DOMAIN,
)
from custom_components.claude_usage.issues import browser_issue_id
from custom_components.claude_usage.scraper.environment import CHROMIUM_ENV
from tests.lookalike import (
    FAIL_RATE_LIMITED,
    FAIL_SERVER_ERROR,
    FAIL_SESSION_EXPIRED,
    FAIL_WRONG_ORG,
    ORGS_MULTI_CHAT,
    TEAM_ORG_NAME,
    TEAM_ORG_UUID,
    LookalikeServer,
)
from tests.lookalike.server import SESSION_MAX_AGE

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

ORGS_PATH = "/api/organizations"  # the first request of every poll
SESSION_SENSOR = "sensor.jane_s_organization_session_usage"


def _polls(lookalike: LookalikeServer) -> int:
    return lookalike.count_requests(ORGS_PATH)


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(seconds)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _expect_poll_after(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lookalike: LookalikeServer,
    seconds: float,
) -> None:
    """Assert that the next poll comes `seconds` (give or take the jitter) after the last."""
    before = _polls(lookalike)
    await _advance(hass, freezer, seconds - 2)
    assert _polls(lookalike) == before, f"polled before {seconds} s"
    await _advance(hass, freezer, 3)
    assert _polls(lookalike) == before + 1, f"no poll after {seconds} s"


async def test_backoff_schedule_and_reset(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """Failures back off 300, 600, 1200, 2400, then 3600 s; a success resets the interval."""
    coordinator = init_integration.runtime_data
    lookalike.failure = FAIL_SERVER_ERROR
    await _expect_poll_after(hass, freezer, lookalike, 300)  # first failure, normal interval
    assert hass.states.get(SESSION_SENSOR).state == STATE_UNAVAILABLE
    for delay in (300, 600, 1200, 2400, 3600, 3600):
        await _expect_poll_after(hass, freezer, lookalike, delay)
    assert coordinator.failures == 7

    lookalike.failure = None
    await _expect_poll_after(hass, freezer, lookalike, 3600)
    assert coordinator.failures == 0
    assert coordinator.last_update_success
    assert hass.states.get(SESSION_SENSOR).state != STATE_UNAVAILABLE
    await _expect_poll_after(hass, freezer, lookalike, 300)


async def test_backoff_never_below_interval(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """With a long update interval, backoff does not poll more often than normal."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={CONF_SCAN_INTERVAL: 1800})
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    lookalike.failure = FAIL_SERVER_ERROR
    for delay in (1800, 1800, 1800, 1800, 2400, 3600):
        await _expect_poll_after(hass, freezer, lookalike, delay)


async def test_retry_after_floor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A 429's Retry-After is waited out even when it is longer than the backoff."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = 5000
    await _expect_poll_after(hass, freezer, lookalike, 300)
    await _expect_poll_after(hass, freezer, lookalike, 5000)
    lookalike.retry_after = 10
    await _expect_poll_after(hass, freezer, lookalike, 5000)  # the last one's floor
    await _expect_poll_after(hass, freezer, lookalike, 1200)  # back to the schedule


@pytest.mark.parametrize("failure", [FAIL_SESSION_EXPIRED, FAIL_WRONG_ORG])
async def test_auth_failure_starts_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    failure: str,
) -> None:
    """An invalid session starts reauth and stops polling claude.ai with it."""
    lookalike.failure = failure
    await _expect_poll_after(hass, freezer, lookalike, 300)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    polls = _polls(lookalike)
    await _advance(hass, freezer, 7200)
    assert _polls(lookalike) == polls


async def test_renewed_session_key_saved_without_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A key renewed by claude.ai is stored in the entry; the entry is not reloaded."""
    coordinator = init_integration.runtime_data
    lookalike.rotate_session_key = True
    with patch.object(hass.config_entries, "async_reload") as reload:
        await coordinator.async_refresh()
        await hass.async_block_till_done()
    new_key = lookalike.rotated_session_key
    assert new_key
    assert new_key != lookalike.session_key
    assert init_integration.data[CONF_SESSION_KEY] == new_key
    # The new cookie's expiry replaces the old key's: 30 days from now, as claude.ai sets it.
    expires = dt_util.parse_datetime(init_integration.data[CONF_SESSION_EXPIRES])
    assert expires is not None
    assert abs((expires - dt_util.utcnow()).total_seconds() - SESSION_MAX_AGE) < 120
    reload.assert_not_called()
    assert init_integration.runtime_data is coordinator

    lookalike.rotate_session_key = False
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert lookalike.requests[-1].session_key == new_key


async def test_single_flight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """Ten refresh requests during one poll start one scraper process."""
    coordinator = init_integration.runtime_data
    release = asyncio.Event()
    started: list[tuple[Any, ...]] = []
    real_exec = child_module.start_process

    async def gated_exec(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        started.append(args)
        await release.wait()
        return await real_exec(*args, **kwargs)

    await _advance(hass, freezer, 11)  # past the debouncer's cooldown of setup
    polls = _polls(lookalike)
    with patch.object(child_module, "start_process", gated_exec):
        presses = [hass.async_create_task(coordinator.async_request_refresh()) for _ in range(10)]
        await asyncio.sleep(0)
        assert len(started) == 1
        release.set()
        await asyncio.gather(*presses)
        await _advance(hass, freezer, 11)
    assert len(started) == 1
    assert _polls(lookalike) == polls + 1


async def test_refresh_button(
    hass: HomeAssistant, init_integration: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """The refresh button polls now."""
    polls = _polls(lookalike)
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.jane_s_organization_refresh"},
        blocking=True,
    )
    assert _polls(lookalike) == polls + 1


def _entry(lookalike: LookalikeServer, uuid: str, title: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=uuid,
        data={
            CONF_SESSION_KEY: lookalike.session_key,
            CONF_ORGANIZATION: uuid,
            CONF_BASE_URL: lookalike.url,
        },
        options={CONF_BACKEND: "browser"},
    )


@pytest.mark.browser
async def test_one_browser_at_a_time(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Two entries that use the browser never run two browser scrapers at once."""
    lookalike.organizations = ORGS_MULTI_CHAT
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={CONF_BACKEND: "browser"})
    entries = [mock_config_entry, _entry(lookalike, TEAM_ORG_UUID, TEAM_ORG_NAME)]
    active = 0
    most = 0
    real_start: Callable[..., Any] = runner_module._Child.start.__func__  # type: ignore[attr-defined]
    real_close = runner_module._Child.close

    async def start(cls: type, argv: list[str], *args: Any, **kwargs: Any) -> Any:
        nonlocal active, most
        child = await real_start(cls, argv, *args, **kwargs)
        child.browser = "browser" in argv
        if child.browser:
            active += 1
            most = max(most, active)
        return child

    async def close(self: Any) -> None:
        nonlocal active
        await real_close(self)
        if getattr(self, "browser", False):
            self.browser = False
            active -= 1

    with (
        patch.object(runner_module._Child, "start", classmethod(start)),
        patch.object(runner_module._Child, "close", close),
    ):
        entries[1].add_to_hass(hass)
        # Setting up the integration sets up both entries at once, as at Home Assistant's start.
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
    assert [entry.state for entry in entries] == [ConfigEntryState.LOADED] * 2
    assert all(entry.runtime_data.data.source == "browser" for entry in entries)
    assert most == 1
    assert active == 0


async def test_repair_when_browser_needed_but_missing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cloudflare challenges without a browser to pass them raise a repair issue."""
    coordinator = init_integration.runtime_data
    issue_id = browser_issue_id(init_integration.entry_id)
    monkeypatch.setenv(CHROMIUM_ENV, "/nonexistent/chromium")
    lookalike.challenge = True
    for _ in range(2):
        await coordinator.async_refresh()
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await coordinator.async_refresh()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert "Chromium" in issue.translation_placeholders["problem"]

    lookalike.challenge = False
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_repair_when_browser_chosen_but_missing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Choosing the browser backend where none can start raises the repair at once."""
    monkeypatch.setenv(CHROMIUM_ENV, "/nonexistent/chromium")
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={CONF_BACKEND: "browser"})
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(SESSION_SENSOR) is None  # no data, no invented values
    issue_id = browser_issue_id(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_no_repair_while_a_browser_could_help(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Challenges with the http backend chosen on purpose raise no repair where a browser works."""
    hass.config_entries.async_update_entry(init_integration, options={CONF_BACKEND: "http"})
    coordinator = init_integration.runtime_data
    lookalike.challenge = True
    for _ in range(4):
        await coordinator.async_refresh()
    assert not coordinator.last_update_success
    assert coordinator.failures == 4
    assert (
        issue_registry.async_get_issue(DOMAIN, browser_issue_id(init_integration.entry_id)) is None
    )
