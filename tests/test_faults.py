"""Every failure of a poll, from the error table and the child process, and where it ends.

docs/RELIABILITY.md lists these cases and points here. Each one: a scheduled poll meets the
fault; the entry stays loaded (or asks to sign in again), the entities turn unavailable (never a
made-up value), the backoff and request health record it, and the next success clears it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import textwrap
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.claude_usage import runner as runner_module
from custom_components.claude_usage.const import CONF_BACKEND, DOMAIN
from tests.lookalike import (
    FAIL_LOGIN_REDIRECT,
    FAIL_MALFORMED,
    FAIL_RATE_LIMITED,
    FAIL_SERVER_ERROR,
    FAIL_SESSION_EXPIRED,
    FAIL_UNAUTHORIZED,
    FAIL_WRONG_ORG,
    FAIL_WRONG_SHAPE,
    ORGS_API_ONLY,
    LookalikeServer,
)

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

SESSION_SENSOR = "sensor.jane_s_organization_session_usage"

type Fault = Callable[[HomeAssistant, MockConfigEntry, LookalikeServer], None]


def _failure(name: str) -> Fault:
    def inject(hass: HomeAssistant, entry: MockConfigEntry, lookalike: LookalikeServer) -> None:
        lookalike.failure = name

    return inject


def _api_only(hass: HomeAssistant, entry: MockConfigEntry, lookalike: LookalikeServer) -> None:
    lookalike.organizations = ORGS_API_ONLY


def _challenge(hass: HomeAssistant, entry: MockConfigEntry, lookalike: LookalikeServer) -> None:
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_BACKEND: "http"})
    lookalike.challenge = True


def _unreachable(hass: HomeAssistant, entry: MockConfigEntry, lookalike: LookalikeServer) -> None:
    entry.runtime_data.runner.base_url = "http://127.0.0.1:9"  # nothing listens on port 9


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(seconds)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _recover(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    lookalike.failure = None
    lookalike.challenge = False
    lookalike.organizations = "default"
    entry.runtime_data.runner.base_url = lookalike.url
    await _advance(hass, freezer, 3601)
    assert entry.runtime_data.last_update_success
    assert entry.runtime_data.failures == 0
    assert hass.states.get(SESSION_SENSOR).state != STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (_failure(FAIL_RATE_LIMITED), "rate_limited"),
        (_failure(FAIL_SERVER_ERROR), "server_error"),
        (_failure(FAIL_MALFORMED), "bad_response"),
        (_failure(FAIL_WRONG_SHAPE), "bad_response"),
        (_challenge, "blocked"),
        (_unreachable, "network"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
async def test_backoff_faults(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    fault: Fault,
    code: str,
) -> None:
    """Faults that back off: loaded, unavailable, counted, then cleared by a success."""
    coordinator = init_integration.runtime_data
    fault(hass, init_integration, lookalike)
    await _advance(hass, freezer, 301)
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(SESSION_SENSOR).state == STATE_UNAVAILABLE
    assert coordinator.last_exception.translation_key == code  # type: ignore[union-attr]
    assert coordinator.failures == 1
    assert coordinator.health.failures[code] == 1
    assert coordinator.backoff.next_request is not None
    await _recover(hass, freezer, init_integration, lookalike)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (_failure(FAIL_SESSION_EXPIRED), "auth_invalid"),
        (_failure(FAIL_UNAUTHORIZED), "auth_invalid"),
        (_failure(FAIL_LOGIN_REDIRECT), "auth_invalid"),
        (_failure(FAIL_WRONG_ORG), "org_unavailable"),
        # The entry's organization left the account (only API organizations remain): with
        # `--org` given that is org_unavailable; no_organization is the config flow's error.
        (_api_only, "org_unavailable"),
    ],
    ids=["session_expired", "unauthorized", "login_redirect", "wrong_org", "api_only"],
)
async def test_auth_faults_start_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    fault: Fault,
    code: str,
) -> None:
    """A rejected session asks to sign in again and stops polling; no backoff is kept."""
    fault(hass, init_integration, lookalike)
    await _advance(hass, freezer, 301)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert hass.states.get(SESSION_SENSOR).state == STATE_UNAVAILABLE
    assert init_integration.runtime_data.failures == 0
    assert init_integration.runtime_data.last_exception.translation_key == code  # type: ignore[union-attr]
    polls = lookalike.count_requests()
    await _advance(hass, freezer, 7200)
    assert lookalike.count_requests() == polls


CRASH = "sys.stdin.readline(); sys.exit(3)\n"
GARBAGE = "sys.stdin.readline(); print('<html>not a result</html>')\n"
KILLED = "sys.stdin.readline(); os.kill(os.getpid(), 9)\n"
WRONG_PROTOCOL = "sys.stdin.readline(); print(json.dumps({'status': 'ok', 'protocol': 99}))\n"
UNKNOWN_ERROR = (
    "sys.stdin.readline(); print(json.dumps({'status': 'error', 'protocol': 1, "
    "'error': 'brand_new', 'message': 'x'})); sys.exit(1)\n"
)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (CRASH, "scraper_crashed"),
        (KILLED, "scraper_crashed"),
        (GARBAGE, "invalid_output"),
        (WRONG_PROTOCOL, "protocol_mismatch"),
        (UNKNOWN_ERROR, "internal"),
    ],
    ids=["crash", "killed", "garbage", "protocol", "unknown_error"],
)
async def test_child_process_faults(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    tmp_path: Path,
    body: str,
    code: str,
) -> None:
    """A scraper that crashes, is killed or prints garbage is a failure like any other."""
    folder = tmp_path / "scraper"
    folder.mkdir()
    (folder / "__main__.py").write_text("import json, os, sys\n" + textwrap.dedent(body))
    coordinator = init_integration.runtime_data
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        await _advance(hass, freezer, 301)
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(SESSION_SENSOR).state == STATE_UNAVAILABLE
    assert coordinator.last_exception.translation_key == code  # type: ignore[union-attr]
    assert coordinator.failures == 1
    await _recover(hass, freezer, init_integration, lookalike)
