"""The claude.ai look-alike behaves as documented, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from email.message import Message
import http.client
import json
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any

import aiohttp
import pytest

from tests.lookalike import (
    API_ORG_UUID,
    CHAT_ORG_UUID,
    DEMO_EMAIL,
    DEMO_SESSION_KEY,
    FAIL_HANG,
    FAIL_LOGIN_REDIRECT,
    FAIL_MALFORMED,
    FAIL_RATE_LIMITED,
    FAIL_SERVER_ERROR,
    FAIL_SESSION_EXPIRED,
    FAIL_UNAUTHORIZED,
    FAIL_WRONG_ORG,
    FAIL_WRONG_SHAPE,
    LEGACY_SESSION_KEY,
    LOGIN_CODE_AT_ONCE,
    LOGIN_FAIL_RATE_LIMITED,
    LOGIN_FAIL_SEND_ERROR,
    LOGIN_LINK_FIRST,
    ORGS_API_ONLY,
    ORGS_MULTI_CHAT,
    TEAM_ORG_UUID,
    USAGE_2026,
    USAGE_CUSTOM,
    USAGE_EXTRA_OVER_100,
    USAGE_FREE,
    USAGE_IDLE,
    USAGE_LEGACY_2025,
    USAGE_LIMITS_ONLY,
    USAGE_NEW_KINDS,
    USAGE_NO_LEGACY_WINDOWS,
    USAGE_SHAPES,
    USAGE_SPEND_ONLY,
    USAGE_STRING_UTILIZATION,
    USAGE_SURFACE_SCOPED,
    USAGE_UNKNOWN_KEYS,
    LookalikeServer,
    usage_payload,
)
from tests.lookalike.pages import FREE_PLAN_TEXT, solve_challenge
from tests.lookalike.payloads import DEMO_SURFACE_AFTER_REQUESTS

ROOT = Path(__file__).parent.parent
UA = "Mozilla/5.0 (X11; Linux x86_64) look-alike-test"
USAGE_PATH = f"/api/organizations/{CHAT_ORG_UUID}/usage"
ISO_WITH_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()

    def set_cookies(self, name: str) -> list[str]:
        return [c for c in self.headers.get_all("Set-Cookie", []) if c.startswith(f"{name}=")]


def fetch(
    server: LookalikeServer,
    path: str,
    *,
    key: str | None = DEMO_SESSION_KEY,
    cookies: dict[str, str] | None = None,
    body: Any = None,
    user_agent: str = UA,
    timeout: float = 5,
) -> Reply:
    """GET (or POST a JSON ``body``) with the session cookie, without following redirects."""
    jar = {"sessionKey": key} if key else {}
    jar |= cookies or {}
    headers = {"User-Agent": user_agent}
    if jar:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request("POST" if data is not None else "GET", path, data, headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


# ---------------------------------------------------------------------------------------------
# Data endpoints
# ---------------------------------------------------------------------------------------------


def test_default_account_answers_like_claude(lookalike: LookalikeServer) -> None:
    """Organizations (API-only first), account, usage and the extras, behind "Cloudflare"."""
    orgs = fetch(lookalike, "/api/organizations")
    assert orgs.status == 200
    assert orgs.headers["Server"] == "cloudflare"
    assert [o["uuid"] for o in orgs.json()] == [API_ORG_UUID, CHAT_ORG_UUID]
    chat = orgs.json()[1]
    assert chat["capabilities"] == ["chat", "claude_max"]
    assert chat["rate_limit_tier"] == "default_claude_max_5x"
    assert {"uuid", "id", "name", "capabilities", "billing_type"} <= set(chat)
    # Cloudflare's cookie rides along and is not a session key.
    assert orgs.set_cookies("__cf_bm")
    assert not orgs.set_cookies("sessionKey")

    assert fetch(lookalike, "/api/account").json()["email_address"] == DEMO_EMAIL
    for extra in ("overage_spend_limit", "prepaid/credits", "overage_credit_grant"):
        assert fetch(lookalike, f"/api/organizations/{CHAT_ORG_UUID}/{extra}").status == 200

    usage = fetch(lookalike, USAGE_PATH).json()
    assert usage == lookalike.usage_payload == usage_payload(USAGE_2026)
    assert usage["five_hour"]["utilization"] == 16.0
    assert ISO_WITH_MICROS.match(usage["five_hour"]["resets_at"])
    assert {item["kind"] for item in usage["limits"]} >= {"session", "weekly_all", "spend"}
    assert usage["extra_usage"]["is_enabled"]
    assert usage["spend"]["used"]["amount_minor"] == 347
    # Both key generations are accepted.
    assert fetch(lookalike, USAGE_PATH, key=LEGACY_SESSION_KEY).status == 200


def test_every_usage_shape_is_served_exactly(lookalike: LookalikeServer) -> None:
    """Each named shape is what `usage_payload(shape)` builds, with its distinguishing trait."""
    traits: dict[str, Callable[[Any], bool]] = {
        USAGE_NO_LEGACY_WINDOWS: lambda u: u["five_hour"] is None and len(u["limits"]) == 5,
        USAGE_LEGACY_2025: lambda u: (
            set(u)
            == {"five_hour", "seven_day", "seven_day_opus", "seven_day_oauth_apps", "extra_usage"}
        ),
        USAGE_LIMITS_ONLY: lambda u: (
            u["seven_day_sonnet"] is None and "Haiku" in json.dumps(u["limits"])
        ),
        USAGE_IDLE: lambda u: (
            u["five_hour"]["utilization"] == 0 and u["five_hour"]["resets_at"] is None
        ),
        USAGE_STRING_UTILIZATION: lambda u: u["five_hour"]["utilization"] == "16.0",
        USAGE_EXTRA_OVER_100: lambda u: u["extra_usage"]["utilization"] > 100,
        USAGE_SPEND_ONLY: lambda u: u["extra_usage"] is None and u["spend"]["used"],
        USAGE_UNKNOWN_KEYS: lambda u: {"seven_day_omelette", "tangelo", "seven_day_foo"} <= set(u),
        USAGE_SURFACE_SCOPED: lambda u: (
            sum(bool((item["scope"] or {}).get("surface")) for item in u["limits"]) == 4
        ),
        USAGE_NEW_KINDS: lambda u: "daily_routines" in {item["kind"] for item in u["limits"]},
        USAGE_FREE: lambda u: (
            u["limits"] == [] and all(v is None for k, v in u.items() if k != "limits")
        ),
    }
    for shape in USAGE_SHAPES:
        lookalike.usage_shape = shape
        served = fetch(lookalike, USAGE_PATH).json()
        assert served == usage_payload(shape), shape
        assert shape == USAGE_2026 or traits[shape](served), shape
        page = fetch(lookalike, "/settings/usage").text
        assert ("Current session" in page) is (shape != USAGE_FREE), shape
        assert (FREE_PLAN_TEXT in page) is (shape == USAGE_FREE), shape
        assert "Couldn't load usage" not in page, shape
    lookalike.usage_shape = USAGE_SURFACE_SCOPED
    page = fetch(lookalike, "/settings/usage").text
    assert "Claude Code" in page
    assert "Claude Design" not in page  # inactive

    lookalike.set_usage({"five_hour": None, "surprise": [1, 2]})
    assert fetch(lookalike, USAGE_PATH).json() == {"five_hour": None, "surprise": [1, 2]}
    assert lookalike.usage_shape == USAGE_CUSTOM
    with pytest.raises(ValueError, match="unknown usage shape"):
        lookalike.usage_shape = "nope"


def test_organization_presets(lookalike: LookalikeServer) -> None:
    """Several chat organizations report their own usage; API-only has no chat org."""
    lookalike.organizations = ORGS_MULTI_CHAT
    orgs = fetch(lookalike, "/api/organizations").json()
    assert [o["uuid"] for o in orgs] == [API_ORG_UUID, CHAT_ORG_UUID, TEAM_ORG_UUID]
    assert sum("chat" in o["capabilities"] for o in orgs) == 2
    team = fetch(lookalike, f"/api/organizations/{TEAM_ORG_UUID}/usage").json()
    assert team == lookalike.usage_for(TEAM_ORG_UUID)
    assert team["five_hour"]["utilization"] != lookalike.usage_payload["five_hour"]["utilization"]

    lookalike.organizations = ORGS_API_ONLY
    orgs = fetch(lookalike, "/api/organizations").json()
    assert all("chat" not in o["capabilities"] for o in orgs)


def test_session_and_organization_errors(lookalike: LookalikeServer) -> None:
    """Unknown key: 403 account_session_invalid whatever else is set; foreign org: 403."""
    lookalike.failure = FAIL_RATE_LIMITED
    for key in ("sk-ant-sid02-not-a-real-key", None):
        reply = fetch(lookalike, USAGE_PATH, key=key)
        assert reply.status == 403
        assert reply.json()["error"]["details"]["error_code"] == "account_session_invalid"
    lookalike.failure = None
    reply = fetch(lookalike, f"/api/organizations/{TEAM_ORG_UUID}/usage")
    assert reply.status == 403
    assert reply.json()["error"]["message"] == "Invalid authorization for organization"

    lookalike.expire_sessions()
    assert fetch(lookalike, "/api/organizations").status == 403
    lookalike.reset()
    assert fetch(lookalike, "/api/organizations").status == 200


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (FAIL_SESSION_EXPIRED, 403),
        (FAIL_UNAUTHORIZED, 401),
        (FAIL_WRONG_ORG, 403),
        (FAIL_RATE_LIMITED, 429),
        (FAIL_SERVER_ERROR, 500),
        (FAIL_MALFORMED, 200),
        (FAIL_WRONG_SHAPE, 200),
        (FAIL_LOGIN_REDIRECT, 302),
    ],
)
def test_failures(lookalike: LookalikeServer, failure: str, status: int) -> None:
    """Each failure mode answers the way claude.ai fails."""
    lookalike.failure = failure
    lookalike.retry_after = 42
    reply = fetch(lookalike, USAGE_PATH)
    assert reply.status == status
    content_type = reply.headers.get("Content-Type", "")
    if failure == FAIL_SESSION_EXPIRED:
        assert reply.json()["error"]["type"] == "permission_error"
        assert reply.json()["error"]["details"]["error_code"] == "account_session_invalid"
    elif failure == FAIL_UNAUTHORIZED:
        assert reply.json()["error"]["type"] == "authentication_error"
    elif failure == FAIL_WRONG_ORG:
        assert reply.json()["error"]["message"] == "Invalid authorization for organization"
    elif failure == FAIL_RATE_LIMITED:
        assert reply.headers["Retry-After"] == "42"
    elif failure == FAIL_SERVER_ERROR:
        assert content_type.startswith("text/html")
    elif failure == FAIL_MALFORMED:
        assert content_type.startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            reply.json()
    elif failure == FAIL_WRONG_SHAPE:
        assert isinstance(reply.json(), list)
        assert isinstance(fetch(lookalike, "/api/organizations").json(), dict)
    else:
        assert reply.headers["Location"] == "/login"
        # Signed out everywhere: following the redirect lands on the sign-in page.
        assert fetch(lookalike, "/login").status == 200
        assert fetch(lookalike, "/settings/usage").headers["Location"] == "/login"
    # failure_on="usage" spares the other endpoints.
    lookalike.failure_on = "usage"
    assert fetch(lookalike, "/api/organizations").status == 200
    assert fetch(lookalike, USAGE_PATH).status == status


def test_hang_sends_half_a_body_until_the_server_stops(lookalike: LookalikeServer) -> None:
    """Status and headers arrive, the body stalls; stopping the server drops the connection."""
    lookalike.failure = FAIL_HANG
    with socket.create_connection(("127.0.0.1", lookalike.port), timeout=0.5) as sock:
        request = f"GET {USAGE_PATH} HTTP/1.1\r\nHost: x\r\nCookie: sessionKey={DEMO_SESSION_KEY}"
        sock.sendall(f"{request}\r\n\r\n".encode())
        received = b""
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        found = re.search(rb"Content-Length: (\d+)", head)
        assert found is not None
        length = int(found.group(1))
        assert len(body) == length // 2
        sock.settimeout(5)
        started = time.monotonic()
        lookalike.stop_thread()
        assert time.monotonic() - started < 3
        with contextlib.suppress(ConnectionResetError):  # reset or closed: never completed
            assert sock.recv(65536) == b""


def test_session_key_rotation(lookalike: LookalikeServer) -> None:
    """The next 200 carries a renewed sessionKey once; old and new keys both work."""
    lookalike.rotate_session_key = True
    first = fetch(lookalike, USAGE_PATH)
    (cookie,) = first.set_cookies("sessionKey")
    new_key = cookie_value(cookie)
    assert new_key == lookalike.rotated_session_key != DEMO_SESSION_KEY
    for attribute in ("HttpOnly", "Secure", "Max-Age=2592000"):
        assert attribute in cookie
    assert not fetch(lookalike, USAGE_PATH).set_cookies("sessionKey")
    assert fetch(lookalike, USAGE_PATH, key=new_key).status == 200
    assert fetch(lookalike, USAGE_PATH, key=DEMO_SESSION_KEY).status == 200


def test_requests_are_recorded(lookalike: LookalikeServer) -> None:
    """Method, path, user agent, cookie names and key validity, without control calls."""
    fetch(lookalike, "/api/organizations", cookies={"lastActiveOrg": CHAT_ORG_UUID})
    fetch(lookalike, USAGE_PATH, key="sk-ant-sid01-wrong")
    fetch(lookalike, "/__test__/state")
    first, second = lookalike.requests
    assert (first.method, first.path, first.user_agent) == ("GET", "/api/organizations", UA)
    assert first.cookie_names == {"sessionKey", "lastActiveOrg"}
    assert first.session_valid
    assert first.status == 200
    assert not second.session_valid
    assert second.status == 403
    assert lookalike.count_requests(USAGE_PATH) == 1


def test_demo_usage_moves_between_polls(lookalike: LookalikeServer) -> None:
    """The session climbs every poll; a weekly Opus window appears after the third, and a
    weekly limit scoped by surface (Claude Code) after the fifth."""
    lookalike.demo = True
    polls = [fetch(lookalike, USAGE_PATH).json() for _ in range(DEMO_SURFACE_AFTER_REQUESTS + 2)]
    sessions = [p["five_hour"]["utilization"] for p in polls[:5]]
    assert sessions == sorted(sessions)
    assert len(set(sessions)) == 5
    assert [p["seven_day_opus"] is not None for p in polls] == [False] * 3 + [True] * 4
    surfaces = [
        [item["scope"]["surface"]["display_name"] for item in p["limits"] if _surface(item)]
        for p in polls
    ]
    assert surfaces == [[]] * 5 + [["Claude Code"]] * 2
    assert lookalike.usage_payload == polls[-1]


def _surface(item: dict[str, Any]) -> bool:
    return isinstance(item.get("scope"), dict) and item["scope"].get("surface") is not None


# ---------------------------------------------------------------------------------------------
# Pages and sign-in over plain HTTP
# ---------------------------------------------------------------------------------------------


def test_pages(lookalike: LookalikeServer) -> None:
    """Signed in: the usage page with exact bar widths; signed out: redirects to /login."""
    page = fetch(lookalike, "/settings/usage")
    assert page.status == 200
    for text in ('data-org-plan="claude_max"', "Plan usage limits", "Current session"):
        assert text in page.text
    assert "16% used" in page.text
    assert 'style="width: 16.0%"' in page.text
    assert "Sonnet only" in page.text
    assert "Resets in " in page.text
    assert fetch(lookalike, "/").headers["Location"] == "/new"
    assert fetch(lookalike, "/new").status == 200
    for path in ("/", "/new", "/settings/usage"):
        assert fetch(lookalike, path, key=None).headers["Location"] == "/login"


def test_email_code_sign_in_over_http(lookalike: LookalikeServer) -> None:
    """Code sent per email, readable by tests; a wrong code is refused; the right one signs in."""
    lookalike.login_variant = LOGIN_CODE_AT_ONCE
    login = fetch(lookalike, "/login", key=None)
    for text in ('type="email"', "Continue with email", 'autocomplete="one-time-code"'):
        assert text in login.text
    assert 'data-variant="code_at_once"' in login.text
    assert fetch(lookalike, "/api/auth/send_magic_link", key=None, body={"email": DEMO_EMAIL})
    code = lookalike.issued_code(DEMO_EMAIL)
    assert code is not None
    assert re.fullmatch(r"\d{6}", code)
    over_http = fetch(lookalike, f"/__test__/login_code?email={DEMO_EMAIL}").json()
    assert over_http == {"code": code}

    body = {"email": DEMO_EMAIL, "code": _wrong(code)}
    refused = fetch(lookalike, "/api/auth/verify_magic_link", key=None, body=body)
    assert refused.status == 400
    assert refused.json()["error"]["message"].startswith("Invalid code")

    body["code"] = code
    accepted = fetch(lookalike, "/api/auth/verify_magic_link", key=None, body=body)
    assert accepted.status == 200
    (cookie,) = accepted.set_cookies("sessionKey")
    key = cookie_value(cookie)
    assert "Max-Age=2592000" in cookie
    assert "HttpOnly" in cookie
    assert lookalike.signed_in_keys == [key]
    assert fetch(lookalike, "/api/organizations", key=key).status == 200
    # Codes are single use.
    again = fetch(lookalike, "/api/auth/verify_magic_link", key=None, body=body)
    assert again.status == 400


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_mailed_link_first(lookalike: LookalikeServer) -> None:
    """Today's default: the mail holds a link; opened on another device it shows a code that
    works only where the sign-in began; opened where it began it signs in."""
    assert lookalike.login_variant == LOGIN_LINK_FIRST
    device = cookie_value(fetch(lookalike, "/login", key=None).set_cookies("login_device")[0])
    here = {"login_device": device}
    send = {"email_address": DEMO_EMAIL}
    assert fetch(lookalike, "/api/auth/send_magic_link", key=None, cookies=here, body=send)
    link = fetch(lookalike, f"/__test__/login_link?email={DEMO_EMAIL}").json()["link"]
    assert link.startswith(f"{lookalike.url}/magic-link#")
    page = fetch(lookalike, "/magic-link", key=None)
    assert "Use verification code to continue" in page.text
    assert 'role", "alert"' in page.text  # the route announcer

    nonce = {"nonce": link.split("#", 1)[1].split(":")[0]}
    phone = fetch(lookalike, "/api/auth/exchange_nonce_for_code", key=None, body=nonce)
    code = phone.json()["code"]
    assert not phone.set_cookies("sessionKey")
    assert fetch(lookalike, f"/__test__/link_code?email={DEMO_EMAIL}").json() == {"code": code}
    assert lookalike.issued_code(DEMO_EMAIL) == code
    body = {"email": DEMO_EMAIL, "code": code}
    elsewhere = fetch(lookalike, "/api/auth/verify_magic_link", key=None, body=body)
    assert elsewhere.status == 400
    signed_in = fetch(lookalike, "/api/auth/verify_magic_link", key=None, cookies=here, body=body)
    assert signed_in.status == 200
    assert signed_in.set_cookies("sessionKey")

    fetch(lookalike, "/api/auth/send_magic_link", key=None, cookies=here, body=send)
    link = lookalike.mailed_link(DEMO_EMAIL)
    assert link is not None
    nonce = {"nonce": link.split("#", 1)[1].split(":")[0]}
    same = fetch(lookalike, "/api/auth/exchange_nonce_for_code", key=None, cookies=here, body=nonce)
    assert same.json() == {"signed_in": True}
    assert same.set_cookies("sessionKey")
    used = fetch(lookalike, "/api/auth/exchange_nonce_for_code", key=None, body=nonce)
    assert used.status == 400
    assert len(lookalike.signed_in_keys) == 2


@pytest.mark.parametrize(
    ("failure", "status", "words"),
    [
        (LOGIN_FAIL_RATE_LIMITED, 429, "Too many login attempts"),
        (LOGIN_FAIL_SEND_ERROR, 500, "There was an error sending you a login link"),
    ],
)
def test_sign_in_errors(lookalike: LookalikeServer, failure: str, status: int, words: str) -> None:
    """ "Continue with email" fails in claude.ai's words; no link is mailed."""
    lookalike.configure(login_failure=failure)
    body = {"email_address": DEMO_EMAIL}
    reply = fetch(lookalike, "/api/auth/send_magic_link", key=None, body=body)
    assert reply.status == status
    assert reply.json()["error"]["message"].startswith(words)
    assert lookalike.mailed_link(DEMO_EMAIL) is None
    with pytest.raises(ValueError, match="unknown login failure"):
        lookalike.login_failure = "meteor"


def test_any_method_sign_in_via_poll(lookalike: LookalikeServer) -> None:
    """The sign-in page's poll finishes once a test approves pending logins."""
    login = fetch(lookalike, "/login", key=None)
    device = cookie_value(login.set_cookies("login_device")[0])
    jar = {"login_device": device}
    assert fetch(lookalike, "/api/auth/poll", key=None, cookies=jar).json()["status"] == "pending"
    approved = fetch(lookalike, "/__test__/approve_pending_logins", key=None, body={})
    assert approved.json() == {"approved": 1}
    reply = fetch(lookalike, "/api/auth/poll", key=None, cookies=jar)
    assert reply.json()["status"] == "approved"
    key = cookie_value(reply.set_cookies("sessionKey")[0])
    assert key in lookalike.valid_session_keys
    assert key in lookalike.signed_in_keys


def test_control_endpoints(lookalike: LookalikeServer) -> None:
    """The Python API over HTTP, for a look-alike in another process."""
    state = fetch(
        lookalike,
        "/__test__/configure",
        body={"usage_shape": USAGE_IDLE, "failure": FAIL_RATE_LIMITED, "retry_after": 7},
    ).json()
    assert (state["usage_shape"], state["failure"], state["retry_after"]) == (
        USAGE_IDLE,
        FAIL_RATE_LIMITED,
        7,
    )
    assert fetch(lookalike, USAGE_PATH).headers["Retry-After"] == "7"
    bad = fetch(lookalike, "/__test__/configure", body={"failure": "meteor"})
    assert bad.status == 400
    assert "meteor" in bad.json()["error"]

    fetch(lookalike, "/__test__/reset", body={})
    fetch(lookalike, "/__test__/usage", body={"payload": {"five_hour": None}})
    assert fetch(lookalike, USAGE_PATH).json() == {"five_hour": None}
    assert fetch(lookalike, "/__test__/requests").json()["count"] == 1
    fetch(lookalike, "/__test__/session_keys", body={"session_key": "sk-ant-sid99-made-up"})
    assert fetch(lookalike, USAGE_PATH, key="sk-ant-sid99-made-up").status == 200
    fetch(lookalike, "/__test__/expire_sessions", body={})
    assert fetch(lookalike, USAGE_PATH).status == 403
    token = fetch(lookalike, "/__test__/clearance", body={"user_agent": UA}).json()
    assert token["cf_clearance"]


async def test_works_inside_home_assistant_event_loop(lookalike: LookalikeServer) -> None:
    """An async test (Home Assistant's loop) reaches the server in its own thread."""
    async with aiohttp.ClientSession() as session:
        cookies = {"Cookie": f"sessionKey={DEMO_SESSION_KEY}"}
        async with session.get(lookalike.url + USAGE_PATH, headers=cookies) as response:
            assert response.status == 200
            assert await response.json() == lookalike.usage_payload


# ---------------------------------------------------------------------------------------------
# Cloudflare challenge
# ---------------------------------------------------------------------------------------------


def test_challenge_blocks_plain_clients(lookalike: LookalikeServer) -> None:
    """Without cf_clearance: 403 "Just a moment..." with cf-mitigated, on API and pages."""
    lookalike.challenge = True
    for path in (USAGE_PATH, "/settings/usage", "/login"):
        reply = fetch(lookalike, path)
        assert reply.status == 403
        assert reply.headers["cf-mitigated"] == "challenge"
        assert reply.headers["Server"] == "cloudflare"
        assert "<title>Just a moment...</title>" in reply.text
    assert lookalike.challenges_served == 3
    assert fetch(lookalike, "/__test__/state").status == 200  # controls are never challenged


def _solve(server: LookalikeServer, page: str, *, off_by: int = 0) -> Reply:
    """Do what the challenge page's script does, in Python."""
    found = re.search(r"var params = (\{.*?\});", page)
    assert found is not None
    params = json.loads(found.group(1))
    answer = solve_challenge(params["seed"], params["iterations"]) + off_by
    return fetch(server, params["solvePath"], body={"id": params["id"], "answer": answer})


def test_clearance_is_bound_to_user_agent_and_expires(lookalike: LookalikeServer) -> None:
    """Solving the script's puzzle earns a cookie valid for that user agent until it expires."""
    lookalike.challenge = True
    lookalike.clearance_ttl = 0.3
    page = fetch(lookalike, USAGE_PATH).text
    assert _solve(lookalike, page, off_by=1).status == 403
    assert _solve(lookalike, page).status == 403  # each challenge is answered once
    solved = _solve(lookalike, fetch(lookalike, USAGE_PATH).text)
    (cookie,) = solved.set_cookies("cf_clearance")
    assert "Max-Age=1" in cookie
    assert "HttpOnly" in cookie
    clearance = {"cf_clearance": cookie_value(cookie)}
    assert fetch(lookalike, USAGE_PATH, cookies=clearance).status == 200
    assert fetch(lookalike, USAGE_PATH, cookies=clearance, user_agent="curl/8").status == 403
    time.sleep(0.35)
    assert fetch(lookalike, USAGE_PATH, cookies=clearance).status == 403
    assert lookalike.clearances_issued == 1


_BROWSER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from playwright.sync_api import sync_playwright

    url, key, email, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        # 1. The challenge: load the usage page, the script solves it and reloads.
        context = browser.new_context()
        context.add_cookies([{"name": "sessionKey", "value": key, "url": url}])
        page = context.new_page()
        page.goto(url + "/settings/usage")
        page.get_by_text("Plan usage limits").wait_for(timeout=15000)
        out["plan"] = page.locator("html").get_attribute("data-org-plan")
        out["user_agent"] = page.evaluate("navigator.userAgent")
        out["cookies"] = {c["name"]: c["value"] for c in context.cookies()}
        context.close()
        # 2. Email sign-in as claude.ai does it now: a mailed link first, the code field after
        # "Enter verification code". Every page has Next.js's 1-pixel route announcer.
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/login")
        page.get_by_role("textbox", name="Email").wait_for()  # past the challenge
        announcer = page.locator('[role="alert"]').filter(visible=True)
        out["announcer"] = [announcer.count(), announcer.first.inner_text()]
        page.get_by_role("textbox", name="Email").fill(email)
        page.get_by_role("button", name="Continue with email").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        out["code_field_at_first"] = page.get_by_label("Verification code").is_visible()
        page.get_by_role("button", name="Enter verification code").click()
        link = page.request.get(url + "/__test__/login_link?email=" + email).json()["link"]
        # The link opened on "a phone": no sign-in there, a code to type where it started.
        phone = browser.new_context()
        phone_page = phone.new_page()
        phone_page.goto(link)
        phone_page.get_by_role("heading", name="Use verification code to continue").wait_for()
        code = phone_page.get_by_test_id("verification-code").inner_text()
        out["phone_signed_in"] = any(c["name"] == "sessionKey" for c in phone.cookies())
        out["link_code"] = page.request.get(url + "/__test__/link_code?email=" + email).json()
        out["link_code"] = out["link_code"]["code"] == code
        phone.close()
        page.get_by_label("Verification code").fill("000000" if code != "000000" else "111111")
        page.get_by_role("button", name="Verify email address").click()
        # The error is written when the look-alike answers, after the click returns.
        page.wait_for_function(
            "document.querySelector('[data-testid=login-error]')?.textContent.trim()"
        )
        out["error"] = page.get_by_test_id("login-error").inner_text()
        page.get_by_label("Verification code").fill(code)
        page.get_by_role("button", name="Verify email address").click()
        page.wait_for_url(url + "/new")
        out["email_cookie"] = [c for c in context.cookies() if c["name"] == "sessionKey"][0]
        context.close()
        # 2b. The link opened in the browser that asked signs it in directly.
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/login")
        page.get_by_role("textbox", name="Email").fill(email)
        page.get_by_role("button", name="Continue with email").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        page.goto(page.request.get(url + "/__test__/login_link?email=" + email).json()["link"])
        page.wait_for_url(url + "/new")
        out["link_cookie"] = [c for c in context.cookies() if c["name"] == "sessionKey"][0]
        context.close()
        # 3. Any other method: the page polls until the look-alike approves it.
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/login")
        page.get_by_label("Email").wait_for()  # past the challenge: the page is waiting
        page.request.post(url + "/__test__/approve_pending_logins")
        page.wait_for_url(url + "/new", timeout=10000)
        out["poll_cookie"] = [c for c in context.cookies() if c["name"] == "sessionKey"][0]
        browser.close()
    print(json.dumps(out))
    """
)


@pytest.mark.browser
def test_real_chromium_passes_challenge_and_signs_in(lookalike: LookalikeServer) -> None:
    """Headless Chromium earns cf_clearance, usable by a plain client with the same UA only.

    The same browser signs in with the email code (the mailed link opened on another device
    shows it), with the link itself, and by approval, which proves the sign-in pages' scripts
    and that Chromium keeps the Secure session cookie on http://127.0.0.1.
    """
    lookalike.challenge = True
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            _BROWSER_SCRIPT,
            lookalike.url,
            DEMO_SESSION_KEY,
            DEMO_EMAIL,
            json.dumps(CHROMIUM_ARGS),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["plan"] == "claude_max"
    assert lookalike.clearances_issued >= 1
    assert lookalike.challenges_served >= 1
    clearance = {"cf_clearance": out["cookies"]["cf_clearance"]}
    same_ua = fetch(lookalike, USAGE_PATH, cookies=clearance, user_agent=out["user_agent"])
    assert same_ua.status == 200
    assert fetch(lookalike, USAGE_PATH, cookies=clearance, user_agent=UA).status == 403

    # The route announcer is a visible alert that holds the title: no sign of an error.
    assert out["announcer"] == [1, "Sign in - Claude"]
    assert out["code_field_at_first"] is False
    assert out["phone_signed_in"] is False
    assert out["link_code"] is True
    assert out["error"].startswith("Invalid code")
    for cookie in (out["email_cookie"], out["link_cookie"], out["poll_cookie"]):
        assert cookie["secure"]
        assert cookie["httpOnly"]
        assert cookie["value"] in lookalike.signed_in_keys
    assert len(lookalike.signed_in_keys) == 3


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("socket_enabled")
def test_command_line_prints_url_and_stops_cleanly() -> None:
    """`python -m tests.lookalike` prints its URL first, serves, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.lookalike", "--port", "0", "--usage-shape", "idle"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert process.stdout.readline().strip() == f"Session key: {DEMO_SESSION_KEY}"
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
        connection.request("GET", USAGE_PATH, headers={"Cookie": f"sessionKey={DEMO_SESSION_KEY}"})
        assert json.loads(connection.getresponse().read())["five_hour"]["resets_at"] is None
        connection.close()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert not stdout
