"""The scraper as a child process over the http backend, against the claude.ai look-alike."""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path
import socket
import stat
import subprocess
import time

import pytest

from custom_components.claude_usage.scraper.http_backend import _from_netscape, _to_netscape
from custom_components.claude_usage.scraper.parser import parse_usage
from tests.lookalike import (
    API_ORG_UUID,
    CHAT_ORG_UUID,
    DEMO_EMAIL,
    FAIL_HANG,
    FAIL_LOGIN_REDIRECT,
    FAIL_MALFORMED,
    FAIL_RATE_LIMITED,
    FAIL_SERVER_ERROR,
    FAIL_SESSION_EXPIRED,
    FAIL_UNAUTHORIZED,
    FAIL_WRONG_ORG,
    FAIL_WRONG_SHAPE,
    ORGS_API_ONLY,
    ORGS_MULTI_CHAT,
    TEAM_ORG_UUID,
    USAGE_2026,
    USAGE_EXTRA_OVER_100,
    USAGE_IDLE,
    USAGE_LEGACY_2025,
    USAGE_LIMITS_ONLY,
    USAGE_SPEND_ONLY,
    USAGE_STRING_UTILIZATION,
    USAGE_UNKNOWN_KEYS,
    LookalikeServer,
)
from tests.lookalike.payloads import usage_payload
from tests.lookalike.server import SESSION_MAX_AGE
from tests.scraper_process import run_scraper, scraper_argv


def poll(lookalike: LookalikeServer, *extra: str, key: str | None = None, **kwargs: float):
    """Run `poll --backend http` against the look-alike."""
    return run_scraper(
        "poll",
        "--base-url",
        lookalike.url,
        "--backend",
        "http",
        *extra,
        stdin=f"{key or lookalike.session_key}\n",
        **kwargs,
    )


@pytest.mark.parametrize(
    "shape",
    [
        USAGE_2026,
        USAGE_LEGACY_2025,
        USAGE_LIMITS_ONLY,
        USAGE_IDLE,
        USAGE_STRING_UTILIZATION,
        USAGE_EXTRA_OVER_100,
        USAGE_SPEND_ONLY,
        USAGE_UNKNOWN_KEYS,
    ],
)
def test_poll_reads_every_payload_shape(lookalike: LookalikeServer, shape: str) -> None:
    """Every shape claude.ai has served becomes the contract's result, exit status 0."""
    lookalike.usage_shape = shape
    run = poll(lookalike)
    assert run.returncode == 0, run.stderr
    result = run.result
    expected = parse_usage(usage_payload(shape))
    assert result["status"] == "ok"
    assert result["protocol"] == 1
    assert result["source"] == "http"
    assert result["windows"] == expected["windows"]
    assert result["extra_usage"] == expected["extra_usage"]
    assert result["usage_percent"] == expected["usage_percent"]
    assert result["reset_time"] == expected["reset_time"]
    assert result["last_updated"] == result["fetched_at"]
    assert "session_key" not in result


def test_poll_takes_the_first_chat_organization(lookalike: LookalikeServer) -> None:
    """An API-only organization listed first is skipped; plan and tier come from the chat one."""
    result = poll(lookalike).result
    assert result["organization"]["uuid"] == CHAT_ORG_UUID
    assert result["organization"]["uuid"] != API_ORG_UUID
    assert result["organization"]["plan"] == "claude_max"
    assert set(result["organization"]) == {"uuid", "name", "plan", "rate_limit_tier"}


def test_poll_reads_the_chosen_organization(lookalike: LookalikeServer) -> None:
    """`--org` picks one of several chat organizations."""
    lookalike.organizations = ORGS_MULTI_CHAT
    result = poll(lookalike, "--org", TEAM_ORG_UUID).result
    assert result["organization"]["uuid"] == TEAM_ORG_UUID


def test_poll_with_an_unknown_organization(lookalike: LookalikeServer) -> None:
    """An `--org` the account does not list is org_unavailable."""
    run = poll(lookalike, "--org", "00000000-0000-4000-8000-000000000000")
    assert run.returncode == 1
    assert run.result["error"] == "org_unavailable"


def test_poll_without_a_chat_organization(lookalike: LookalikeServer) -> None:
    """An API-only account is no_organization."""
    lookalike.organizations = ORGS_API_ONLY
    assert poll(lookalike).result["error"] == "no_organization"


def test_check_lists_organizations_and_account(lookalike: LookalikeServer) -> None:
    """`check` verifies the key and lists every organization with its plan."""
    lookalike.organizations = ORGS_MULTI_CHAT
    run = run_scraper(
        "check", "--base-url", lookalike.url, "--backend", "http", stdin=lookalike.session_key
    )
    assert run.returncode == 0, run.stderr
    result = run.result
    assert result["status"] == "ok"
    assert result["source"] == "http"
    assert result["account"] == {"email": DEMO_EMAIL}
    uuids = [org["uuid"] for org in result["organizations"]]
    assert uuids[0] == API_ORG_UUID
    assert {CHAT_ORG_UUID, TEAM_ORG_UUID} <= set(uuids)
    for org in result["organizations"]:
        assert set(org) == {"uuid", "name", "capabilities", "plan", "rate_limit_tier"}


@pytest.mark.parametrize(
    ("failure", "failure_on", "error"),
    [
        (FAIL_SESSION_EXPIRED, "all", "auth_invalid"),
        (FAIL_UNAUTHORIZED, "all", "auth_invalid"),
        (FAIL_LOGIN_REDIRECT, "all", "auth_invalid"),
        (FAIL_WRONG_ORG, "usage", "org_unavailable"),
        (FAIL_SERVER_ERROR, "all", "server_error"),
        (FAIL_MALFORMED, "usage", "bad_response"),
        (FAIL_WRONG_SHAPE, "usage", "bad_response"),
        (FAIL_WRONG_SHAPE, "all", "bad_response"),
    ],
)
def test_poll_failures_map_to_error_codes(
    lookalike: LookalikeServer, failure: str, failure_on: str, error: str
) -> None:
    """Each way claude.ai fails has its error code, exit status 1 and no traceback."""
    lookalike.failure = failure
    lookalike.failure_on = failure_on
    run = poll(lookalike)
    assert run.returncode == 1
    result = run.result
    assert result["status"] == "error"
    assert result["protocol"] == 1
    assert result["error"] == error
    assert result["message"]
    assert result["retry_after"] is None
    assert "Traceback" not in run.stderr


def test_rate_limit_reports_retry_after(lookalike: LookalikeServer) -> None:
    """A 429's Retry-After reaches the integration, which waits at least that long."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = 321
    result = poll(lookalike).result
    assert result["error"] == "rate_limited"
    assert result["retry_after"] == 321


def test_unknown_key_is_auth_invalid(lookalike: LookalikeServer) -> None:
    """A key the server does not know (expired) is auth_invalid."""
    result = poll(lookalike, key="sk-ant-sid01-not-a-real-key").result
    assert result["error"] == "auth_invalid"


def test_challenge_on_http_only_is_blocked_not_auth(lookalike: LookalikeServer) -> None:
    """A Cloudflare challenge says nothing about the session: blocked, never auth_invalid."""
    lookalike.challenge = True
    result = poll(lookalike).result
    assert result["error"] == "blocked"
    assert lookalike.challenges_served >= 1


@pytest.mark.parametrize("stdin", [None, "", "\n", "   \n"])
def test_missing_session_key(lookalike: LookalikeServer, stdin: str | None) -> None:
    """No key on stdin is auth_invalid without a single request."""
    run = run_scraper("poll", "--base-url", lookalike.url, stdin=stdin)
    assert run.returncode == 1
    assert run.result["error"] == "auth_invalid"
    assert not lookalike.requests


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fetch"],
        ["poll", "--backend", "carrier-pigeon"],
        ["poll", "--timeout", "soon"],
        ["poll", "--timeout", "-1"],
        ["login"],
        ["login", "--email", "a@example.com", "--headed"],
    ],
)
def test_command_line_that_does_not_parse(argv: list[str]) -> None:
    """Exit status 2 and nothing on stdout."""
    run = run_scraper(*argv, stdin="")
    assert run.returncode == 2
    assert run.stdout == ""
    assert "usage:" in run.stderr


def test_refused_connection_is_network(socket_enabled: None) -> None:
    """Nothing listening: network."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_scraper(
        "poll", "--base-url", f"http://127.0.0.1:{port}", "--backend", "http", stdin="sk-ant-x\n"
    )
    assert run.result["error"] == "network"


def test_hung_response_times_out(lookalike: LookalikeServer) -> None:
    """A body that never finishes ends as timeout, inside --timeout."""
    lookalike.failure = FAIL_HANG
    lookalike.failure_on = "usage"
    started = time.monotonic()
    run = poll(lookalike, "--timeout", "2")
    elapsed = time.monotonic() - started
    assert run.result["error"] == "timeout"
    assert run.returncode == 1
    assert elapsed < 2 + 3


def test_rotated_key_is_reported_and_saved(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """A renewed sessionKey cookie is reported once and replaces the key in the state folder."""
    lookalike.rotate_session_key = True
    state_dir = tmp_path / "state"
    run = poll(lookalike, "--state-dir", str(state_dir))
    result = run.result
    assert result["status"] == "ok"
    assert result["session_key"] == lookalike.rotated_session_key
    assert result["session_key"] != lookalike.session_key
    # The renewed cookie's expiry comes with it: claude.ai's Max-Age of 30 days from now.
    expires = datetime.fromisoformat(result["session_key_expires_at"])
    assert abs(expires.timestamp() - time.time() - SESSION_MAX_AGE) < 120
    state_text = (state_dir / "state.json").read_text()
    assert lookalike.rotated_session_key in state_text
    assert "__cf_bm" in state_text
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    for file in state_dir.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    # Neither the old nor the new key shows up on stderr.
    assert lookalike.session_key not in run.stderr
    assert lookalike.rotated_session_key not in run.stderr


def test_stdin_key_replaces_the_saved_one(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """The key on stdin is the truth for the run, whatever the state folder holds."""
    state_dir = tmp_path / "state"
    assert (
        poll(lookalike, "--state-dir", str(state_dir), key="sk-ant-sid02-stale").result["error"]
        == "auth_invalid"
    )
    result = poll(lookalike, "--state-dir", str(state_dir)).result
    assert result["status"] == "ok"
    assert "sk-ant-sid02-stale" not in (state_dir / "state.json").read_text()


def test_unreadable_state_is_ignored(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """A damaged state file costs the saved cookies, not the poll."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "state.json").write_text("{not json")
    run = poll(lookalike, "--state-dir", str(state_dir))
    assert run.result["status"] == "ok"
    assert "unreadable state" in run.stderr.lower()


def test_session_key_stays_secret(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """The key is absent from argv, stderr and every file outside the state folder."""
    lookalike.failure = FAIL_SERVER_ERROR
    state_dir = tmp_path / "state"
    run = poll(lookalike, "--state-dir", str(state_dir))
    assert run.result["error"] == "server_error"
    key = lookalike.session_key
    assert all(key not in arg for arg in run.argv)
    assert key not in run.stderr
    assert key not in run.stdout
    for path in tmp_path.rglob("*"):
        if path.is_file() and state_dir not in path.parents:
            assert key not in path.read_text(errors="replace")


def test_key_never_sent_hits_the_watchdog(lookalike: LookalikeServer) -> None:
    """A caller that never writes the key line still gets `timeout` once the deadline passes."""
    process = subprocess.Popen(
        scraper_argv("poll", "--base-url", lookalike.url, "--timeout", "1"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        returncode = process.wait(timeout=15)  # stdin stays open: the key never arrives
    finally:
        process.kill()
        stdout, _ = process.communicate()
    assert returncode == 1
    assert json.loads(stdout)["error"] == "timeout"


def test_unexpected_failure_is_internal(lookalike: LookalikeServer, tmp_path: Path) -> None:
    """A state folder that is a file: `internal`, traceback on stderr, key still hidden."""
    not_a_folder = tmp_path / "state"
    not_a_folder.write_text("")
    run = poll(lookalike, "--state-dir", str(not_a_folder))
    assert run.returncode == 1
    assert run.result["error"] == "internal"
    assert "Traceback" in run.stderr
    assert lookalike.session_key not in run.stderr


@pytest.mark.parametrize(
    "cookie",
    [
        {
            "name": "cf_clearance",
            "value": "abc.def-1",
            "domain": ".claude.ai",
            "path": "/",
            "expires": 1900000000,
            "httpOnly": True,
            "secure": True,
            "sameSite": "Lax",
        },
        {
            "name": "sessionKey",
            "value": "sk-ant-sid02-x",
            "domain": "127.0.0.1",
            "path": "/",
            "expires": -1,
            "httpOnly": False,
            "secure": False,
            "sameSite": "Lax",
        },
    ],
)
def test_cookies_survive_libcurls_cookie_engine(cookie: dict) -> None:
    """A saved cookie given to libcurl comes back out of it unchanged (domain, flags, expiry)."""
    assert _from_netscape(_to_netscape(cookie, "claude.ai").encode()) == cookie
