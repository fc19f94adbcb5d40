"""The config flow: every way to sign in, its errors, reauth, reconfigure and options."""

from __future__ import annotations

from datetime import timedelta
import logging
from pathlib import Path
import textwrap
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_EMAIL, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.claude_usage import runner as runner_module
from custom_components.claude_usage.const import (
    BASE_URL_ENV,
    CONF_BACKEND,
    CONF_BASE_URL,
    CONF_CODE,
    CONF_ORGANIZATION,
    CONF_SESSION_EXPIRES,
    CONF_SESSION_KEY,
    DOMAIN,
)
from custom_components.claude_usage.runner import EmailLogin, RunnerError, ScraperError
from custom_components.claude_usage.scraper.environment import CHROMIUM_ENV
from custom_components.claude_usage.scraper.protocol import ErrorCode
from tests.lookalike import (
    CHAT_ORG_NAME,
    CHAT_ORG_UUID,
    DEMO_EMAIL,
    FAIL_MALFORMED,
    FAIL_SERVER_ERROR,
    FAIL_SESSION_EXPIRED,
    ORGS_API_ONLY,
    ORGS_MULTI_CHAT,
    TEAM_ORG_NAME,
    TEAM_ORG_UUID,
    LookalikeServer,
)

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir", "base_url")

REAL_SCRAPER = runner_module.SCRAPER_PATH


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch, lookalike: LookalikeServer) -> str:
    """Point new entries at the look-alike, as the demo does."""
    monkeypatch.setenv(BASE_URL_ENV, lookalike.url)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return lookalike.url


@pytest.fixture
def no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this host one without a browser (like Home Assistant OS)."""
    monkeypatch.setenv(CHROMIUM_ENV, "/nonexistent/chromium")


def _flow_dirs(hass: HomeAssistant) -> list[Path]:
    return list(Path(hass.config.path(STORAGE_DIR, DOMAIN)).glob("flow_*"))


async def _start(hass: HomeAssistant, choice: str) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": choice}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == choice
    return result["flow_id"]


@pytest.mark.parametrize(
    ("display", "chromium", "options"),
    [
        (":99", None, ["session_key", "email", "window"]),
        (None, None, ["session_key", "email"]),
        (":99", "/nonexistent/chromium", ["session_key"]),
    ],
    ids=["browser-and-display", "headless-browser", "no-browser"],
)
async def test_menu_offers_what_the_host_can_do(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    display: str | None,
    chromium: str | None,
    options: list[str],
) -> None:
    """Pasting a key is always offered; the browser ways only where they can work."""
    if display:
        monkeypatch.setenv("DISPLAY", display)
    if chromium:
        monkeypatch.setenv(CHROMIUM_ENV, chromium)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == options


async def test_session_key(hass: HomeAssistant, lookalike: LookalikeServer) -> None:
    """A pasted key (even with the cookie's name) is checked, then the entry is created."""
    flow_id = await _start(hass, "session_key")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SESSION_KEY: f" sessionKey={lookalike.session_key} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == CHAT_ORG_NAME
    assert result["result"].unique_id == CHAT_ORG_UUID
    assert result["data"] == {
        CONF_SESSION_KEY: lookalike.session_key,
        CONF_ORGANIZATION: CHAT_ORG_UUID,
        CONF_BASE_URL: lookalike.url,
        CONF_EMAIL: DEMO_EMAIL,
    }
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert not _flow_dirs(hass)


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("failure", FAIL_SESSION_EXPIRED, "invalid_auth"),
        ("failure", FAIL_SERVER_ERROR, "cannot_connect"),
        ("challenge", True, "blocked"),
        ("organizations", ORGS_API_ONLY, "no_organization"),
        ("failure", FAIL_MALFORMED, "unknown"),
    ],
)
@pytest.mark.usefixtures("no_browser")
async def test_session_key_errors(
    hass: HomeAssistant,
    lookalike: LookalikeServer,
    caplog: pytest.LogCaptureFixture,
    setting: str,
    value: object,
    error: str,
) -> None:
    """Each failure shows its error, and the same flow then succeeds; no log shows the key."""
    caplog.set_level(logging.DEBUG)
    flow_id = await _start(hass, "session_key")
    setattr(lookalike, setting, value)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    lookalike.reset()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert "sk-ant-sid0" not in caplog.text


async def test_organization_picker(hass: HomeAssistant, lookalike: LookalikeServer) -> None:
    """With several chat organizations the person picks one."""
    lookalike.organizations = ORGS_MULTI_CHAT
    flow_id = await _start(hass, "session_key")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "organization"
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_ORGANIZATION: TEAM_ORG_UUID}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == TEAM_ORG_NAME
    assert result["result"].unique_id == TEAM_ORG_UUID


async def test_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Adding the same organization twice aborts."""
    mock_config_entry.add_to_hass(hass)
    flow_id = await _start(hass, "session_key")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.browser
async def test_email_sign_in(hass: HomeAssistant, lookalike: LookalikeServer) -> None:
    """Email, then the mailed code: one login process across both steps."""
    flow_id = await _start(hass, "email")
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_EMAIL: DEMO_EMAIL})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "code"
    assert result["description_placeholders"] == {"email": DEMO_EMAIL}
    code = lookalike.issued_code(DEMO_EMAIL)
    assert code
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_CODE: code})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SESSION_KEY] in lookalike.valid_session_keys
    assert result["data"][CONF_SESSION_KEY] != lookalike.session_key
    # The cookie's expiry, as the sign-in saw it (the look-alike's are 30 days like claude.ai's).
    expires = dt_util.parse_datetime(result["data"][CONF_SESSION_EXPIRES])
    assert expires is not None
    assert timedelta(days=29) < expires - dt_util.utcnow() <= timedelta(days=30)
    await hass.async_block_till_done()
    assert not _flow_dirs(hass), [list(p.rglob("*")) for p in _flow_dirs(hass)]


@pytest.mark.browser
async def test_email_wrong_code(hass: HomeAssistant, lookalike: LookalikeServer) -> None:
    """A wrong code sends the person back to ask for a new one."""
    flow_id = await _start(hass, "email")
    await hass.config_entries.flow.async_configure(flow_id, {CONF_EMAIL: DEMO_EMAIL})
    code = lookalike.issued_code(DEMO_EMAIL)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_CODE: "111111" if code == "000000" else "000000"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "email"
    assert result["errors"] == {"base": "invalid_code"}
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()


@pytest.mark.browser
async def test_email_abandoned(hass: HomeAssistant, lookalike: LookalikeServer) -> None:
    """Closing the dialog while the code is awaited ends the login process."""
    flow_id = await _start(hass, "email")
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_EMAIL: DEMO_EMAIL})
    assert result["step_id"] == "code"
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()
    assert not _flow_dirs(hass)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (ErrorCode.BLOCKED, "blocked"),
        (ErrorCode.BROWSER_UNAVAILABLE, "browser_unavailable"),
        (ErrorCode.LOGIN_FAILED, "login_failed"),
        (ErrorCode.NETWORK, "cannot_connect"),
        (RunnerError.CRASHED, "unknown"),
    ],
)
async def test_email_start_errors(
    hass: HomeAssistant, lookalike: LookalikeServer, code: ErrorCode, error: str
) -> None:
    """A sign-in that cannot reach the code step shows why, and can be retried."""
    flow_id = await _start(hass, "email")
    with patch.object(EmailLogin, "start", side_effect=ScraperError(code, "no")):
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_EMAIL: DEMO_EMAIL})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "email"
    assert result["errors"] == {"base": error}
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()


async def test_email_code_then_check_fails(
    hass: HomeAssistant, lookalike: LookalikeServer, fake_login: Path
) -> None:
    """A key from the sign-in that then fails the check shows the error on the email step."""
    flow_id = await _start(hass, "email")
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_EMAIL: DEMO_EMAIL})
    assert result["step_id"] == "code"
    lookalike.failure = FAIL_SERVER_ERROR
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_CODE: "123456"})
    assert result["step_id"] == "email"
    assert result["errors"] == {"base": "cannot_connect"}
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()


async def test_code_step_without_login(hass: HomeAssistant) -> None:
    """A code submitted when no sign-in runs (a stale browser tab) asks for the code again."""
    flow_id = await _start(hass, "email")
    flow = hass.config_entries.flow._progress[flow_id]
    result = await flow.async_step_code({CONF_CODE: "123456"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "code"
    hass.config_entries.flow.async_abort(flow_id)


FAKE_LOGIN = """
import json, os, sys
args = sys.argv[1:]
if args[0] != "login":
    os.execv(sys.executable, [sys.executable, {real!r}, *args])
if "--email" in args:
    print(json.dumps({{"event": "code_required"}}), flush=True)
    sys.stdin.readline()
if {fail!r} == "hang":
    import time
    time.sleep(60)
if {fail!r}:
    print(json.dumps({{"status": "error", "protocol": 1, "error": "login_failed",
                      "message": "The window was closed"}}))
    sys.exit(1)
print(json.dumps({{"status": "ok", "protocol": 1, "session_key": {key!r}, "expires_at": None}}))
"""


def _install_fake_login(tmp_path: Path, key: str, *, fail: bool | str = False) -> Path:
    """A scraper whose `login` needs no browser; every other command is the real one."""
    folder = tmp_path / f"scraper-{fail}"
    folder.mkdir()
    (folder / "__main__.py").write_text(
        textwrap.dedent(FAKE_LOGIN.format(real=str(REAL_SCRAPER), fail=fail, key=key))
    )
    return folder


@pytest.fixture
def fake_login(tmp_path: Path, lookalike: LookalikeServer) -> Path:
    """Use a stand-in for `login` (the real one needs Chromium and, headed, a display)."""
    folder = _install_fake_login(tmp_path, lookalike.session_key)
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        yield folder


async def test_window_sign_in(
    hass: HomeAssistant,
    lookalike: LookalikeServer,
    monkeypatch: pytest.MonkeyPatch,
    fake_login: Path,
) -> None:
    """The window path shows progress while the person signs in, then creates the entry."""
    monkeypatch.setenv("DISPLAY", ":99")
    flow_id = await _start(hass, "window")
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "window"
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SESSION_KEY] == lookalike.session_key


async def test_window_sign_in_fails(
    hass: HomeAssistant,
    lookalike: LookalikeServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A window closed without signing in shows the error on the window step."""
    monkeypatch.setenv("DISPLAY", ":99")
    folder = _install_fake_login(tmp_path, lookalike.session_key, fail=True)
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        flow_id = await _start(hass, "window")
        result = await hass.config_entries.flow.async_configure(flow_id, {})
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "window"
    assert result["errors"] == {"base": "login_failed"}
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()


async def test_window_key_rejected(
    hass: HomeAssistant,
    lookalike: LookalikeServer,
    monkeypatch: pytest.MonkeyPatch,
    fake_login: Path,
) -> None:
    """A window sign-in whose key fails the check shows the check's error."""
    monkeypatch.setenv("DISPLAY", ":99")
    flow_id = await _start(hass, "window")
    lookalike.failure = FAIL_SESSION_EXPIRED
    await hass.config_entries.flow.async_configure(flow_id, {})
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["step_id"] == "window"
    assert result["errors"] == {"base": "invalid_auth"}
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()


async def test_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Reauth offers the same choices and stores the new key."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_SESSION_KEY: "sk-ant-sid02-old"}
    )
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "session_key"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_SESSION_KEY] == lookalike.session_key
    assert mock_config_entry.data[CONF_BASE_URL] == lookalike.url
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reauth_wrong_account(hass: HomeAssistant, lookalike: LookalikeServer) -> None:
    """Signing in to an account without the entry's organization aborts clearly."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Someone else",
        unique_id="00000000-0000-0000-0000-000000000000",
        data={
            CONF_SESSION_KEY: "sk-ant-sid02-old",
            CONF_ORGANIZATION: "00000000-0000-0000-0000-000000000000",
            CONF_BASE_URL: lookalike.url,
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "session_key"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SESSION_KEY: lookalike.session_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data[CONF_SESSION_KEY] == "sk-ant-sid02-old"


async def test_reconfigure(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Reconfigure replaces the session of the same organization."""
    mock_config_entry.add_to_hass(hass)
    new_key = "sk-ant-sid02-lookalike-another-valid-key"
    lookalike.add_session_key(new_key)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "session_key"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SESSION_KEY: new_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_SESSION_KEY] == new_key
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_options(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The update interval and the connection can be changed; the entry reloads."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 600, CONF_BACKEND: "http"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {CONF_SCAN_INTERVAL: 600, CONF_BACKEND: "http"}
    assert init_integration.runtime_data.update_interval.total_seconds() == 600


@pytest.mark.parametrize("interval", [59, 3601])
async def test_options_bounds(
    hass: HomeAssistant, init_integration: MockConfigEntry, interval: int
) -> None:
    """The update interval stays between a minute and an hour."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: interval, CONF_BACKEND: "auto"}
        )


async def test_window_abandoned(
    hass: HomeAssistant,
    lookalike: LookalikeServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Closing the dialog while the window is open ends the sign-in process."""
    monkeypatch.setenv("DISPLAY", ":99")
    folder = _install_fake_login(tmp_path, lookalike.session_key, fail="hang")
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        flow_id = await _start(hass, "window")
        result = await hass.config_entries.flow.async_configure(flow_id, {})
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        hass.config_entries.flow.async_abort(flow_id)
        await hass.async_block_till_done()
    assert not _flow_dirs(hass)
