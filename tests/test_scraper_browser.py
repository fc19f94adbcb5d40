"""The scraper's browser backend and sign-in, with Debian's Chromium, as child processes."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path
import shutil
import stat
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest

from custom_components.claude_usage.scraper.browser_backend import (
    HEADLESS_SHELL,
    NODE_CACHE_DIR,
    headless_executable,
)
from custom_components.claude_usage.scraper.environment import CHROMIUM_ENV
from tests.lookalike import (
    CHAT_ORG_UUID,
    DEMO_EMAIL,
    FAIL_HANG,
    FAIL_SESSION_EXPIRED,
    LOGIN_CODE_AT_ONCE,
    LOGIN_FAIL_RATE_LIMITED,
    LOGIN_FAIL_SEND_ERROR,
    LOGIN_LINK_FIRST,
    LookalikeServer,
)
from tests.scraper_process import marked_env, processes_with_marker, run_scraper, scraper_argv

pytestmark = pytest.mark.browser


def poll(lookalike: LookalikeServer, state_dir: Path, *extra: str, env=None):
    """Run `poll` with a state folder (default backend: auto)."""
    return run_scraper(
        "poll",
        "--base-url",
        lookalike.url,
        "--state-dir",
        str(state_dir),
        *extra,
        stdin=f"{lookalike.session_key}\n",
        env=env,
    )


def test_challenge_then_browser_then_http_again(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """auto: http meets the challenge, the browser passes it once, the next poll is http."""
    lookalike.challenge = True
    first = poll(lookalike, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.result["source"] == "browser"
    assert first.result["windows"]
    assert lookalike.clearances_issued == 1
    saved = json.loads((tmp_path / "state.json").read_text())
    assert any(cookie["name"] == "cf_clearance" for cookie in saved["cookies"])

    challenges = lookalike.challenges_served
    second = poll(lookalike, tmp_path)
    assert second.result["source"] == "http"
    assert second.result["windows"] == first.result["windows"]
    assert lookalike.challenges_served == challenges
    assert lookalike.clearances_issued == 1


def test_expired_clearance_goes_back_to_the_browser(
    lookalike: LookalikeServer, tmp_path: Path
) -> None:
    """A clearance past its lifetime is challenged again and earned again."""
    lookalike.challenge = True
    lookalike.clearance_ttl = 1
    assert poll(lookalike, tmp_path).result["source"] == "browser"
    time.sleep(1.5)
    assert poll(lookalike, tmp_path).result["source"] == "browser"
    assert lookalike.clearances_issued == 2


@pytest.mark.parametrize("command", ["poll", "check"])
def test_browser_backend_reads_the_same_data(
    lookalike: LookalikeServer, tmp_path: Path, command: str
) -> None:
    """`--backend browser` gives the same answer as http, with source browser."""
    args = [command, "--base-url", lookalike.url, "--backend"]
    by_http = run_scraper(*args, "http", stdin=lookalike.session_key).result
    by_browser = run_scraper(
        *args, "browser", "--state-dir", str(tmp_path), stdin=lookalike.session_key
    ).result
    assert by_browser["source"] == "browser"
    for field in ("windows", "extra_usage", "organization", "organizations", "account"):
        assert by_browser.get(field) == by_http.get(field)


def test_browser_poll_reads_only_the_json(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """The browser opens the JSON endpoint itself, never the settings page and its script."""
    run = poll(lookalike, tmp_path, "--backend", "browser")
    assert run.result["windows"], run.stderr
    paths = sorted(record.path for record in lookalike.requests)
    assert paths == sorted(
        ["/api/organizations", "/api/organizations", f"/api/organizations/{CHAT_ORG_UUID}/usage"]
    )


def test_browser_state_folder_stays_private(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """Node's compile cache lives in the state folder: folders 0700, every file 0600."""
    state_dir = tmp_path / "state"
    for _ in range(2):  # the second run reads the cache the first one wrote
        assert poll(lookalike, state_dir, "--backend", "browser").result["status"] == "ok"
    cache = state_dir / NODE_CACHE_DIR
    assert any(path.is_file() for path in cache.rglob("*"))
    for path in [state_dir, *state_dir.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_headless_polls_prefer_the_headless_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The headless-only build when installed, else Chromium; a named browser always wins."""
    shell = headless_executable()
    assert shell is not None
    if shutil.which(HEADLESS_SHELL):
        assert Path(shell).name == HEADLESS_SHELL
    monkeypatch.setenv(CHROMIUM_ENV, "/bin/true")
    assert headless_executable() == "/bin/true"


def test_browser_backend_maps_errors(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """Errors read inside the page map exactly as over http."""
    lookalike.failure = FAIL_SESSION_EXPIRED
    run = poll(lookalike, tmp_path, "--backend", "browser")
    assert run.result["error"] == "auth_invalid"


def test_hung_server_in_the_browser_leaves_no_chromium(
    lookalike: LookalikeServer, tmp_path: Path
) -> None:
    """On the deadline the scraper reports timeout and no Chromium outlives it."""
    lookalike.failure = FAIL_HANG
    lookalike.failure_on = "usage"
    marker = uuid.uuid4().hex
    started = time.monotonic()
    run = poll(
        lookalike, tmp_path, "--backend", "browser", "--timeout", "6", env=marked_env(marker)
    )
    assert run.result["error"] == "timeout"
    assert time.monotonic() - started < 6 + 4
    time.sleep(0.5)
    assert processes_with_marker(marker) == []


def test_missing_chromium_is_browser_unavailable(
    lookalike: LookalikeServer, tmp_path: Path
) -> None:
    """Without a browser the error says what to install."""
    env = {**os.environ, "CLAUDE_USAGE_CHROMIUM": str(tmp_path / "no-such-chromium")}
    run = poll(lookalike, tmp_path, "--backend", "browser", env=env)
    assert run.result["error"] == "browser_unavailable"
    assert "chromium" in run.result["message"].lower()


class LoginProcess:
    """A `login` child process spoken to over JSON lines."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            scraper_argv("login", *args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read() if self.process.stderr else ""
        return json.loads(line)

    def send(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def finish(self) -> int:
        return self.process.wait(timeout=30)


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.mark.parametrize("variant", [LOGIN_LINK_FIRST, LOGIN_CODE_AT_ONCE])
@pytest.mark.parametrize("right_code", [True, False])
def test_email_code_login(
    lookalike: LookalikeServer, tmp_path: Path, variant: str, right_code: bool
) -> None:
    """Email, then the code over stdin, whether the page shows the code field at once or only
    after the mailed-link notice: a new working key, or login_failed. No Chromium is left."""
    lookalike.login_variant = variant
    marker = uuid.uuid4().hex
    login = LoginProcess(
        "--base-url",
        lookalike.url,
        "--state-dir",
        str(tmp_path),
        "--email",
        DEMO_EMAIL,
        env=marked_env(marker),
    )
    assert login.read() == {"event": "code_required"}
    code = lookalike.issued_code(DEMO_EMAIL)
    assert code is not None
    login.send({"code": code if right_code else _wrong(code)})
    result = login.read()
    assert result["status"] == ("ok" if right_code else "error"), result
    assert login.finish() == (0 if right_code else 1)
    _assert_no_chromium(marker)
    if right_code:
        key = result["session_key"]
        assert key in lookalike.valid_session_keys
        assert result["expires_at"]
        poll_result = run_scraper(
            "poll", "--base-url", lookalike.url, "--backend", "http", stdin=key
        ).result
        assert poll_result["status"] == "ok"
    else:
        assert result["error"] == "login_failed"
        assert "did not accept" in result["message"]


def _assert_no_chromium(marker: str) -> None:
    deadline = time.monotonic() + 5
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with_marker(marker) == []


def _open_on_another_device(link: str) -> str:
    """Do what the mailed link's page does in a browser that did not ask: show the code."""
    url = urllib.parse.urlsplit(link)
    connection = http.client.HTTPConnection(url.netloc, timeout=5)
    try:
        body = json.dumps({"nonce": url.fragment.split(":")[0]})
        headers = {"Content-Type": "application/json"}
        connection.request("POST", "/api/auth/exchange_nonce_for_code", body, headers)
        return json.loads(connection.getresponse().read())["code"]
    finally:
        connection.close()


def test_email_login_with_the_link_opened_on_another_device(
    lookalike: LookalikeServer, tmp_path: Path
) -> None:
    """The mailed link opened elsewhere shows a code; typed where the sign-in began, it works."""
    login = LoginProcess(
        "--base-url", lookalike.url, "--state-dir", str(tmp_path), "--email", DEMO_EMAIL
    )
    assert login.read() == {"event": "code_required"}
    link = lookalike.mailed_link(DEMO_EMAIL)
    assert link is not None
    code = _open_on_another_device(link)
    assert code == lookalike.link_page_code(DEMO_EMAIL)
    login.send({"code": code})
    result = login.read()
    assert result["status"] == "ok", result
    assert login.finish() == 0
    # Opening the link did not sign the other device in: only the scraper's browser was.
    assert lookalike.signed_in_keys == [result["session_key"]]


@pytest.mark.parametrize(
    ("failure", "error"),
    [(LOGIN_FAIL_RATE_LIMITED, "rate_limited"), (LOGIN_FAIL_SEND_ERROR, "server_error")],
)
def test_email_login_page_errors(
    lookalike: LookalikeServer, tmp_path: Path, failure: str, error: str
) -> None:
    """ "Too many login attempts" and a mail that could not be sent, read from the page's words;
    the login ends at once, before asking for a code, and leaves no Chromium."""
    lookalike.login_failure = failure
    marker = uuid.uuid4().hex
    login = LoginProcess("--base-url", lookalike.url, "--email", DEMO_EMAIL, env=marked_env(marker))
    result = login.read()
    assert result["status"] == "error"
    assert result["error"] == error
    assert login.finish() == 1
    _assert_no_chromium(marker)
    assert lookalike.issued_code(DEMO_EMAIL) is None


def test_email_login_without_a_code_line(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """Closing stdin instead of sending a code ends the login as login_failed."""
    login = LoginProcess("--base-url", lookalike.url, "--email", DEMO_EMAIL)
    assert login.read() == {"event": "code_required"}
    assert login.process.stdin is not None
    login.process.stdin.close()
    assert login.read()["error"] == "login_failed"
    assert login.finish() == 1


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb")
def test_headed_login_under_xvfb(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """A visible window waits until the person signs in by any method, then prints the key."""
    process = subprocess.Popen(
        ["xvfb-run", "-a", *scraper_argv("login", "--base-url", lookalike.url, "--headed")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            lookalike.approve_pending_logins()
            time.sleep(0.3)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    result = json.loads(stdout.splitlines()[-1])
    assert result["status"] == "ok", stderr
    assert result["session_key"] in lookalike.valid_session_keys


def test_headed_login_without_a_display(lookalike: LookalikeServer) -> None:
    """No display: browser_unavailable, not a hang."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run = run_scraper("login", "--base-url", lookalike.url, "--headed", env=env)
    assert run.result["error"] == "browser_unavailable"


_SELECTOR_SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from playwright.async_api import async_playwright
from scraper import login, signin_selectors as sel
from scraper.browser_backend import CHROMIUM_ARGS
from scraper.environment import find_chromium

async def main():
    cases = json.loads(sys.argv[2])
    found = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=find_chromium(), args=list(CHROMIUM_ARGS)
        )
        page = await browser.new_page()
        for name, (html, target) in cases.items():
            await page.set_content(html)
            match = await login._visible(page, getattr(sel, target))
            found[name] = None if match is None else await match.get_attribute("id")
        await browser.close()
    print(json.dumps(found))

asyncio.run(main())
"""

# (page markup, selector table entry, the id of the element it must find)
_SELECTOR_CASES = {
    "role and name first": (
        '<button data-testid="continue" id="testid">Next</button>'
        '<button id="role">Continue with email</button>',
        "CONTINUE_WITH_EMAIL",
        "role",
    ),
    "data-testid second": (
        '<button data-testid="continue" id="testid">Weiter</button>',
        "CONTINUE_WITH_EMAIL",
        "testid",
    ),
    "hidden matches do not count": (
        '<button hidden id="role">Continue with email</button>'
        '<button data-testid="continue" id="testid">Weiter</button>',
        "CONTINUE_WITH_EMAIL",
        "testid",
    ),
    "CSS last": ('<input type="email" id="css">', "EMAIL_INPUT", "css"),
    "label before CSS": (
        '<input type="email" id="css"><label for="code">Verification code</label>'
        '<input id="code" autocomplete="one-time-code">',
        "CODE_INPUT",
        "code",
    ),
    "one-time-code field by CSS": (
        '<input id="otp" autocomplete="one-time-code">',
        "CODE_INPUT",
        "otp",
    ),
    "not there": ("<p>Check your email</p>", "ENTER_CODE", None),
}


def test_sign_in_selectors_in_their_order() -> None:
    """Each sign-in element is found by role and name first, data-testid second, CSS last."""
    cases = {name: [html, target] for name, (html, target, _) in _SELECTOR_CASES.items()}
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            _SELECTOR_SCRIPT,
            str(Path(scraper_argv()[1]).parent),
            json.dumps(cases),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found == {name: expected for name, (_, _, expected) in _SELECTOR_CASES.items()}
