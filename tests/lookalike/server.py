"""The look-alike: a local aiohttp server that answers like claude.ai.

It serves the JSON endpoints the scraper reads, the pages a browser sees (sign-in, usage
settings), Cloudflare's JavaScript challenge, and every failure mode CLAUDE_DATA.md describes.
Tests drive it through ``LookalikeServer`` attributes from their own thread; out-of-process users
(the end-to-end test, the demo) use the ``/__test__/`` endpoints in ``control.py``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
import contextlib
import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import json
import math
import secrets
import threading
import time
from typing import Any, Final

from aiohttp import hdrs, web
from aiohttp.log import access_logger

from . import pages, payloads, signin_pages
from .payloads import (
    CHAT_ORG_UUID,
    DEMO_EMAIL,
    DEMO_SESSION_KEY,
    LEGACY_SESSION_KEY,
    ORGANIZATION_PRESETS,
    ORGS_DEFAULT,
    TEAM_ORG_UUID,
    USAGE_2026,
    USAGE_CUSTOM,
    DemoUsage,
    JSONObject,
)
from .signin import MAGIC_LINK_PATH, EmailLogins
from .signin_pages import LOGIN_LINK_FIRST, LOGIN_VARIANTS

FAIL_SESSION_EXPIRED: Final = "session_expired"
FAIL_UNAUTHORIZED: Final = "unauthorized"
FAIL_WRONG_ORG: Final = "wrong_org"
FAIL_RATE_LIMITED: Final = "rate_limited"
FAIL_SERVER_ERROR: Final = "server_error"
FAIL_HANG: Final = "hang"
FAIL_MALFORMED: Final = "malformed"
FAIL_WRONG_SHAPE: Final = "wrong_shape"
FAIL_LOGIN_REDIRECT: Final = "login_redirect"
FAILURES: Final = (
    FAIL_SESSION_EXPIRED,
    FAIL_UNAUTHORIZED,
    FAIL_WRONG_ORG,
    FAIL_RATE_LIMITED,
    FAIL_SERVER_ERROR,
    FAIL_HANG,
    FAIL_MALFORMED,
    FAIL_WRONG_SHAPE,
    FAIL_LOGIN_REDIRECT,
)
# Failures that mean the session is gone: with failure_on="all" the pages sign out as well.
_SIGNED_OUT_FAILURES: Final = frozenset(
    {FAIL_SESSION_EXPIRED, FAIL_UNAUTHORIZED, FAIL_LOGIN_REDIRECT}
)
FAIL_ON_ALL: Final = "all"
FAIL_ON_USAGE: Final = "usage"
FAIL_ON_CHOICES: Final = (FAIL_ON_ALL, FAIL_ON_USAGE)
# How the sign-in page fails instead of mailing a link.
LOGIN_FAIL_RATE_LIMITED: Final = "rate_limited"
LOGIN_FAIL_SEND_ERROR: Final = "send_error"
LOGIN_FAILURES: Final = (LOGIN_FAIL_RATE_LIMITED, LOGIN_FAIL_SEND_ERROR)

DEFAULT_RETRY_AFTER: Final = 120
DEFAULT_CLEARANCE_TTL: Final = 1800.0
SESSION_MAX_AGE: Final = 2_592_000  # 30 days, like claude.ai
CONTROL_PREFIX: Final = "/__test__/"

_RECORD_KEY: Final = "lookalike_record"
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Challenges nobody answers are forgotten after this many newer ones.
_MAX_PENDING_CHALLENGES: Final = 256

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class RecordedRequest:
    """One request as the look-alike saw it (control endpoints are not recorded)."""

    method: str
    path: str
    query: str
    user_agent: str | None
    cookie_names: frozenset[str]
    session_key: str | None
    session_valid: bool
    status: int | None = None

    def as_json(self) -> JSONObject:
        """A JSON-friendly copy for the control API."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "user_agent": self.user_agent,
            "cookie_names": sorted(self.cookie_names),
            "session_valid": self.session_valid,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class _Clearance:
    user_agent: str
    expires: float  # time.monotonic()


def new_session_key() -> str:
    """A fresh key in today's format (``sk-ant-sid02-`` + base64url + checksum-looking tail)."""
    return f"sk-ant-sid02-{secrets.token_urlsafe(64)}-{secrets.token_urlsafe(4)}AA"


def _ray_id() -> str:
    return f"{secrets.token_hex(8)}-FRA"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _secure_context(request: web.Request) -> bool:
    """Whether a browser keeps ``Secure`` cookies from this origin.

    Chromium (checked with Debian's 156) and curl treat http://127.0.0.1 and localhost as
    trustworthy and store Secure cookies there, so the look-alike sends them like claude.ai
    does; only plain http on another host (a LAN demo) drops the attribute.
    """
    return request.secure or (request.url.host or "") in _LOOPBACK_HOSTS


def _http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


def _session_cookie(request: web.Request, key: str) -> str:
    secure = "; Secure" if _secure_context(request) else ""
    return (
        f"sessionKey={key}; Path=/; HttpOnly{secure}; SameSite=Lax; Max-Age={SESSION_MAX_AGE}; "
        f"Expires={_http_date(SESSION_MAX_AGE)}"
    )


def _plain_cookie(
    request: web.Request, name: str, value: str, max_age: int, *, http_only: bool = True
) -> str:
    flags = ("; HttpOnly" if http_only else "") + ("; Secure" if _secure_context(request) else "")
    return f"{name}={value}; Path=/{flags}; SameSite=Lax; Max-Age={max_age}"


def _cf_bm_cookie(request: web.Request) -> str:
    """Cloudflare's bot-management cookie: on every API response, never a session key."""
    value = f"{secrets.token_urlsafe(32)}-{int(time.time())}-1.0.1.1-{secrets.token_urlsafe(64)}"
    tail = "; Secure; SameSite=None" if _secure_context(request) else ""
    return f"__cf_bm={value}; path=/; expires={_http_date(1800)}; HttpOnly{tail}"


async def _json_object(request: web.Request) -> JSONObject:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class LookalikeServer:
    """A claude.ai look-alike with knobs for every behaviour tests need.

    Attributes are meant to be set from the test's thread while the server runs in its own;
    single assignments are atomic, and compound updates take ``self._lock``.
    """

    def __init__(
        self,
        *,
        usage_shape: str = USAGE_2026,
        organizations: str = ORGS_DEFAULT,
        failure: str | None = None,
        failure_on: str = FAIL_ON_ALL,
        retry_after: int = DEFAULT_RETRY_AFTER,
        challenge: bool = False,
        clearance_ttl: float = DEFAULT_CLEARANCE_TTL,
        rotate_session_key: bool = False,
        demo: bool = False,
        auto_approve_logins: bool = False,
        login_variant: str = LOGIN_LINK_FIRST,
        login_failure: str | None = None,
        access_log: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self.host = "127.0.0.1"
        self.port = 0
        self.session_key = DEMO_SESSION_KEY
        self.valid_session_keys: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.signed_in_keys: list[str] = []
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.reset()
        self.configure(
            usage_shape=usage_shape,
            organizations=organizations,
            failure=failure,
            failure_on=failure_on,
            retry_after=retry_after,
            challenge=challenge,
            clearance_ttl=clearance_ttl,
            rotate_session_key=rotate_session_key,
            demo=demo,
            auto_approve_logins=auto_approve_logins,
            login_variant=login_variant,
            login_failure=login_failure,
        )

    # -----------------------------------------------------------------------------------------
    # Settings
    # -----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the defaults: valid demo keys, 2026 usage, default orgs, no failure."""
        with self._lock:
            self.valid_session_keys.clear()
            self.valid_session_keys.update({DEMO_SESSION_KEY, LEGACY_SESSION_KEY})
            self._usage_shape: str = USAGE_2026
            self._usage_default: Any = payloads.usage_payload(USAGE_2026)
            # The Team organization reports its own figures unless a test overrides them.
            self._usage_overrides: dict[str, Any] = {TEAM_ORG_UUID: payloads.team_usage_payload()}
            self._builtin_team_usage = True
            self._organizations: str = ORGS_DEFAULT
            self._failure: str | None = None
            self._failure_on: str = FAIL_ON_ALL
            self.retry_after: int = DEFAULT_RETRY_AFTER
            self.challenge: bool = False
            self.clearance_ttl: float = DEFAULT_CLEARANCE_TTL
            self._clearances: dict[str, _Clearance] = {}
            self._pending_challenges: OrderedDict[str, int] = OrderedDict()
            self.challenges_served: int = 0
            self.clearances_issued: int = 0
            self.rotate_session_key: bool = False
            self.rotated_session_key: str | None = None
            self.requests.clear()
            self.email_logins = EmailLogins()
            self._login_variant: str = LOGIN_LINK_FIRST
            self._login_failure: str | None = None
            self._pending_devices: set[str] = set()
            self._approved_devices: set[str] = set()
            self.auto_approve_logins: bool = False
            self.signed_in_keys.clear()
            self._key_emails: dict[str, str] = {}
            self.demo: bool = False
            self._demo_usage = DemoUsage()

    def configure(self, **settings: Any) -> None:
        """Set several attributes at once, by name, with validation (used by the control API)."""
        setters: dict[str, Callable[[Any], None]] = {
            "usage_shape": lambda v: setattr(self, "usage_shape", v),
            "organizations": lambda v: setattr(self, "organizations", v),
            "failure": lambda v: setattr(self, "failure", v),
            "failure_on": lambda v: setattr(self, "failure_on", v),
            "retry_after": lambda v: setattr(self, "retry_after", _int(v, "retry_after")),
            "challenge": lambda v: setattr(self, "challenge", _bool(v, "challenge")),
            "clearance_ttl": lambda v: setattr(self, "clearance_ttl", _float(v, "clearance_ttl")),
            "rotate_session_key": lambda v: setattr(
                self, "rotate_session_key", _bool(v, "rotate_session_key")
            ),
            "demo": lambda v: setattr(self, "demo", _bool(v, "demo")),
            "auto_approve_logins": lambda v: setattr(
                self, "auto_approve_logins", _bool(v, "auto_approve_logins")
            ),
            "login_variant": lambda v: setattr(self, "login_variant", v),
            "login_failure": lambda v: setattr(self, "login_failure", v),
        }
        unknown = set(settings) - set(setters)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(setters)}")
        for name, value in settings.items():
            setters[name](value)

    @property
    def usage_shape(self) -> str:
        """Which built-in usage payload is served (``USAGE_CUSTOM`` after ``set_usage``)."""
        return self._usage_shape

    @usage_shape.setter
    def usage_shape(self, shape: str) -> None:
        payload = payloads.usage_payload(shape)  # raises ValueError for an unknown shape
        with self._lock:
            self._usage_shape = shape
            self._usage_default = payload

    def set_usage(self, payload: Any, org_uuid: str | None = None) -> None:
        """Serve ``payload`` (any JSON value) as the usage of one organization, or of all."""
        data = copy.deepcopy(payload)
        with self._lock:
            if org_uuid is None:
                self._usage_default = data
                self._usage_overrides.clear()
                self._usage_shape = USAGE_CUSTOM
            else:
                self._usage_overrides[org_uuid] = data
            if org_uuid in (None, TEAM_ORG_UUID):
                self._builtin_team_usage = False

    def usage_for(self, org_uuid: str = CHAT_ORG_UUID) -> Any:
        """A copy of what a usage request for ``org_uuid`` returns now (demo: the latest)."""
        with self._lock:
            if self.demo:
                return self._demo_usage.current_payload()
            self._rebuild_if_stale()
            return copy.deepcopy(self._usage_overrides.get(org_uuid, self._usage_default))

    def _rebuild_if_stale(self) -> None:
        """Keep built-in payloads' reset times ahead of the clock on a long-running server."""
        if not payloads.refresh_stale_anchor():
            return
        if self._usage_shape != USAGE_CUSTOM:
            self._usage_default = payloads.usage_payload(self._usage_shape)
        if self._builtin_team_usage:
            self._usage_overrides[TEAM_ORG_UUID] = payloads.team_usage_payload()

    @property
    def usage_payload(self) -> Any:
        """What the personal chat organization's usage endpoint serves."""
        return self.usage_for(CHAT_ORG_UUID)

    @property
    def organizations(self) -> str:
        """The organizations preset (``ORGS_DEFAULT``, ``ORGS_MULTI_CHAT``, ``ORGS_API_ONLY``)."""
        return self._organizations

    @organizations.setter
    def organizations(self, preset: str) -> None:
        if preset not in ORGANIZATION_PRESETS:
            raise ValueError(f"unknown organizations preset {preset!r}: {ORGANIZATION_PRESETS}")
        self._organizations = preset

    @property
    def organizations_payload(self) -> list[JSONObject]:
        """What ``/api/organizations`` returns."""
        return payloads.organizations_payload(self._organizations)

    @property
    def failure(self) -> str | None:
        """The failure mode (one of ``FAILURES``) or None."""
        return self._failure

    @failure.setter
    def failure(self, failure: str | None) -> None:
        if failure is not None and failure not in FAILURES:
            raise ValueError(f"unknown failure {failure!r}; expected None or one of {FAILURES}")
        self._failure = failure

    @property
    def failure_on(self) -> str:
        """Where the failure applies: every data endpoint (``"all"``) or only ``"usage"``."""
        return self._failure_on

    @failure_on.setter
    def failure_on(self, where: str) -> None:
        if where not in FAIL_ON_CHOICES:
            raise ValueError(f"failure_on must be one of {FAIL_ON_CHOICES}, not {where!r}")
        self._failure_on = where

    @property
    def login_variant(self) -> str:
        """How the sign-in page asks for the code (``signin_pages.LOGIN_VARIANTS``)."""
        return self._login_variant

    @login_variant.setter
    def login_variant(self, variant: str) -> None:
        if variant not in LOGIN_VARIANTS:
            raise ValueError(f"unknown login variant {variant!r}; expected one of {LOGIN_VARIANTS}")
        self._login_variant = variant

    @property
    def login_failure(self) -> str | None:
        """How "Continue with email" fails (one of ``LOGIN_FAILURES``), or None."""
        return self._login_failure

    @login_failure.setter
    def login_failure(self, failure: str | None) -> None:
        if failure is not None and failure not in LOGIN_FAILURES:
            raise ValueError(f"unknown login failure {failure!r}; expected one of {LOGIN_FAILURES}")
        self._login_failure = failure

    def expire_sessions(self) -> None:
        """Sign every session out; keys issued later (sign-in, rotation) are valid again."""
        with self._lock:
            self.valid_session_keys.clear()

    def count_requests(self, path: str | None = None, method: str | None = None) -> int:
        """How many recorded requests match ``path`` (exact) and ``method``."""
        return sum(
            1
            for record in list(self.requests)
            if (path is None or record.path == path) and (method is None or record.method == method)
        )

    # -----------------------------------------------------------------------------------------
    # Sign-in and clearance helpers for tests
    # -----------------------------------------------------------------------------------------

    def issued_code(self, email: str) -> str | None:
        """The six-digit code a person signing in as ``email`` would type, if any.

        The mailed code in the ``code_at_once`` variant; else the one that the mailed link shows
        on another device (as if the person had opened it on their phone).
        """
        return self.email_logins.code_to_type(email)

    def mailed_link(self, email: str) -> str | None:
        """The sign-in link last mailed to ``email`` (a full URL), if any."""
        path = self.email_logins.link_path(email)
        return None if path is None else f"{self.url}{path}"

    def link_page_code(self, email: str) -> str | None:
        """The code that the mailed link's page shows when opened on another device."""
        return self.email_logins.link_code(email)

    def approve_pending_logins(self) -> int:
        """Finish every sign-in page that is waiting ("any method"); returns how many."""
        with self._lock:
            count = len(self._pending_devices)
            self._approved_devices |= self._pending_devices
            self._pending_devices.clear()
            return count

    @property
    def pending_logins(self) -> int:
        """Sign-in pages currently open and waiting."""
        with self._lock:
            return len(self._pending_devices)

    def issue_clearance(self, user_agent: str, ttl: float | None = None) -> str:
        """A ``cf_clearance`` token for ``user_agent``, as if a browser had passed the challenge."""
        token = (
            f"{secrets.token_urlsafe(32)}-{int(time.time())}-1.2.1.1-{secrets.token_urlsafe(48)}"
        )
        lifetime = self.clearance_ttl if ttl is None else ttl
        with self._lock:
            self._clearances[token] = _Clearance(user_agent, time.monotonic() + lifetime)
            self.clearances_issued += 1
        return token

    def add_session_key(self, key: str) -> None:
        """Accept ``key`` as a signed-in session (e.g. a key a test made up)."""
        with self._lock:
            self.valid_session_keys.add(key)

    def state(self) -> JSONObject:
        """A JSON snapshot of the settings and counters (the control API's ``/state``)."""
        with self._lock:
            return {
                "url": self.url if self.port else None,
                "usage_shape": self._usage_shape,
                "organizations": self._organizations,
                "failure": self._failure,
                "failure_on": self._failure_on,
                "retry_after": self.retry_after,
                "challenge": self.challenge,
                "clearance_ttl": self.clearance_ttl,
                "challenges_served": self.challenges_served,
                "clearances_issued": self.clearances_issued,
                "rotate_session_key": self.rotate_session_key,
                "rotated_session_key": self.rotated_session_key,
                "demo": self.demo,
                "demo_usage_requests": self._demo_usage.requests,
                "auto_approve_logins": self.auto_approve_logins,
                "login_variant": self._login_variant,
                "login_failure": self._login_failure,
                "pending_logins": len(self._pending_devices),
                "signed_in_keys": list(self.signed_in_keys),
                "valid_session_keys": sorted(self.valid_session_keys),
                "request_count": len(self.requests),
            }

    # -----------------------------------------------------------------------------------------
    # Lifecycle
    # -----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (only while running)."""
        if not self.port:
            raise RuntimeError("the look-alike is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on the running event loop."""
        if self._runner is not None:
            raise RuntimeError("the look-alike is already running")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            self._build_app(),
            shutdown_timeout=2.0,
            access_log=access_logger if self._access_log else None,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host, self.port = runner.addresses[0][:2]

    async def stop(self) -> None:
        """Release hanging responses, close every connection and the listening socket."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()
        await runner.cleanup()
        self.port = 0

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 10) -> None:
        """Serve from a background thread with its own event loop (works beside any test)."""
        ready = threading.Event()
        errors: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve_in_thread,
            args=(host, port, ready, errors),
            name="lookalike-server",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the look-alike did not start in time")
        if errors:
            thread.join(timeout)
            raise errors[0]
        self._thread = thread

    def _serve_in_thread(
        self, host: str, port: int, ready: threading.Event, errors: list[BaseException]
    ) -> None:
        # A plain selector loop, not the current policy's: Home Assistant's test policy would
        # give this thread an executor and exception handler it must not share.
        loop = asyncio.SelectorEventLoop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self.start(host, port))
            except BaseException as err:  # reported to the starting thread
                errors.append(err)
                return
            finally:
                ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
        finally:
            _close_loop(loop)

    def stop_thread(self, timeout: float = 10) -> None:
        """Stop a server started with ``start_in_thread`` and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("the look-alike thread did not stop")
        self._loop = self._thread = None

    # -----------------------------------------------------------------------------------------
    # The application
    # -----------------------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        from .control import add_control_routes  # control imports this module

        app = web.Application(middlewares=[self._record_middleware, self._challenge_middleware])
        app.on_response_prepare.append(self._on_response_prepare)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/", self._handle_root),
            ("GET", "/new", self._handle_new),
            ("GET", "/login", self._handle_login_page),
            ("GET", "/settings/usage", self._handle_usage_page),
            ("POST", pages.CHALLENGE_SOLVE_PATH, self._handle_challenge_solve),
            ("GET", MAGIC_LINK_PATH, self._handle_magic_link_page),
            ("POST", "/api/auth/send_magic_link", self._handle_send_magic_link),
            ("POST", "/api/auth/exchange_nonce_for_code", self._handle_exchange_nonce),
            ("POST", "/api/auth/verify_magic_link", self._handle_verify_magic_link),
            ("GET", "/api/auth/poll", self._handle_login_poll),
            ("GET", "/api/organizations", self._data_endpoint("organizations")),
            ("GET", "/api/account", self._data_endpoint("account")),
            ("GET", "/api/organizations/{org}/usage", self._data_endpoint("usage")),
            (
                "GET",
                "/api/organizations/{org}/overage_spend_limit",
                self._data_endpoint("overage_spend_limit"),
            ),
            (
                "GET",
                "/api/organizations/{org}/overage_credit_grant",
                self._data_endpoint("overage_credit_grant"),
            ),
            (
                "GET",
                "/api/organizations/{org}/prepaid/credits",
                self._data_endpoint("prepaid_credits"),
            ),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        add_control_routes(app, self)
        return app

    def _key_valid(self, key: str | None) -> bool:
        return key is not None and key in self.valid_session_keys

    def _session_valid(self, request: web.Request) -> bool:
        return self._key_valid(request.cookies.get("sessionKey"))

    def _signed_in_for_pages(self, request: web.Request) -> bool:
        """Whether pages treat the visitor as signed in.

        A failure that means "signed out" on every endpoint signs the pages out too, so a client
        that follows the login redirect lands on /login instead of bouncing back to /new.
        """
        signed_out = self._failure in _SIGNED_OUT_FAILURES and self._failure_on == FAIL_ON_ALL
        return self._session_valid(request) and not signed_out

    @web.middleware
    async def _record_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        key = request.cookies.get("sessionKey")
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string,
            user_agent=request.headers.get(hdrs.USER_AGENT),
            cookie_names=frozenset(request.cookies),
            session_key=key,
            session_valid=self._key_valid(key),
        )
        self.requests.append(record)
        request[_RECORD_KEY] = record
        try:
            return await handler(request)
        except web.HTTPNotFound:
            if request.path.startswith("/api/"):
                return _json(404, payloads.error_payload("not_found_error", "Not Found"))
            raise

    @web.middleware
    async def _challenge_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        exempt = request.path.startswith((CONTROL_PREFIX, pages.CHALLENGE_SOLVE_PATH))
        if self.challenge and not exempt and not self._has_clearance(request):
            return self._challenge_response()
        return await handler(request)

    async def _on_response_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        """Headers every claude.ai response carries (it sits behind Cloudflare)."""
        record = request.get(_RECORD_KEY)
        if isinstance(record, RecordedRequest):
            record.status = response.status
        if request.path.startswith(CONTROL_PREFIX):
            return
        response.headers[hdrs.SERVER] = "cloudflare"
        response.headers["cf-ray"] = _ray_id()
        if request.path.startswith("/api/"):
            response.headers.add(hdrs.SET_COOKIE, _cf_bm_cookie(request))

    # -----------------------------------------------------------------------------------------
    # Cloudflare challenge
    # -----------------------------------------------------------------------------------------

    def _has_clearance(self, request: web.Request) -> bool:
        token = request.cookies.get("cf_clearance")
        if not token:
            return False
        with self._lock:
            grant = self._clearances.get(token)
        return (
            grant is not None
            and grant.user_agent == request.headers.get(hdrs.USER_AGENT, "")
            and time.monotonic() < grant.expires
        )

    def _challenge_response(self) -> web.Response:
        challenge_id, seed = secrets.token_urlsafe(16), secrets.randbits(32)
        with self._lock:
            self._pending_challenges[challenge_id] = seed
            while len(self._pending_challenges) > _MAX_PENDING_CHALLENGES:
                self._pending_challenges.popitem(last=False)
            self.challenges_served += 1
        response = web.Response(
            status=403,
            text=pages.challenge_page(challenge_id, seed, _ray_id()),
            content_type="text/html",
        )
        response.headers["cf-mitigated"] = "challenge"
        response.headers[hdrs.CACHE_CONTROL] = (
            "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0"
        )
        response.headers[hdrs.EXPIRES] = "Thu, 01 Jan 1970 00:00:01 GMT"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    async def _handle_challenge_solve(self, request: web.Request) -> web.StreamResponse:
        data = await _json_object(request)
        challenge_id, answer = data.get("id"), data.get("answer")
        with self._lock:
            seed = self._pending_challenges.pop(str(challenge_id), None)
        if seed is None or not isinstance(answer, int) or answer != pages.solve_challenge(seed):
            return _json(403, {"success": False})
        token = self.issue_clearance(request.headers.get(hdrs.USER_AGENT, ""))
        response = _json(200, {"success": True})
        max_age = max(1, math.ceil(self.clearance_ttl))
        response.headers.add(
            hdrs.SET_COOKIE, f"cf_clearance={token}; Path=/; HttpOnly; Max-Age={max_age}"
        )
        return response

    # -----------------------------------------------------------------------------------------
    # Data endpoints and failures
    # -----------------------------------------------------------------------------------------

    def _data_endpoint(self, name: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not self._session_valid(request):
                return _json(403, payloads.session_expired_error())
            org = request.match_info.get("org")
            if org is not None and org not in self._org_uuids():
                return _json(403, payloads.wrong_org_error())
            failure = self._failure
            if failure is not None and (self._failure_on == FAIL_ON_ALL or name == "usage"):
                return await self._failure_response(request, failure, name)
            response = web.json_response(self._body(name, request, advance=True))
            self._rotate_if_asked(request, response)
            return response

        return handle

    def _org_uuids(self) -> set[str]:
        return {org["uuid"] for org in self.organizations_payload}

    def _body(self, name: str, request: web.Request, *, advance: bool) -> Any:
        org = request.match_info.get("org", CHAT_ORG_UUID)
        if name == "organizations":
            return self.organizations_payload
        if name == "account":
            email = self._key_emails.get(request.cookies.get("sessionKey", ""), DEMO_EMAIL)
            return payloads.account_payload(self.organizations_payload, email)
        if name == "usage":
            if self.demo and advance:
                with self._lock:
                    return self._demo_usage.next_payload()
            return self.usage_for(org)
        builders: dict[str, Callable[[str], JSONObject]] = {
            "overage_spend_limit": payloads.overage_spend_limit_payload,
            "overage_credit_grant": payloads.overage_credit_grant_payload,
            "prepaid_credits": payloads.prepaid_credits_payload,
        }
        return builders[name](org)

    async def _failure_response(
        self, request: web.Request, failure: str, name: str
    ) -> web.StreamResponse:
        fixed: dict[str, Callable[[], web.Response]] = {
            FAIL_SESSION_EXPIRED: lambda: _json(403, payloads.session_expired_error()),
            FAIL_UNAUTHORIZED: lambda: _json(401, payloads.unauthorized_error()),
            FAIL_WRONG_ORG: lambda: _json(403, payloads.wrong_org_error()),
            FAIL_RATE_LIMITED: self._rate_limited,
            FAIL_SERVER_ERROR: lambda: web.Response(
                status=500, text=pages.server_error_page(_ray_id()), content_type="text/html"
            ),
            FAIL_LOGIN_REDIRECT: lambda: web.Response(
                status=302, headers={hdrs.LOCATION: "/login"}
            ),
        }
        if failure in fixed:
            return fixed[failure]()
        body = self._body(name, request, advance=False)
        if failure == FAIL_HANG:
            return await self._hang(request, json.dumps(body).encode())
        if failure == FAIL_MALFORMED:
            # What a proxy hiccup looks like: half a document and an HTML fragment.
            data = json.dumps(body).encode()
            garbage = data[: len(data) // 2] + b"<!-- upstream connect error -->"
            return web.Response(status=200, body=garbage, content_type="application/json")
        assert failure == FAIL_WRONG_SHAPE, failure
        return web.json_response(_wrong_shape(name, body))

    def _rate_limited(self) -> web.Response:
        retry = str(max(0, math.ceil(self.retry_after)))
        return _json(429, payloads.rate_limited_error(), {hdrs.RETRY_AFTER: retry})

    async def _hang(self, request: web.Request, body: bytes) -> web.StreamResponse:
        """Send the headers and half the body, then stall until the server stops."""
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        assert self._stopping is not None
        await self._stopping.wait()
        # Drop the connection so the client never receives a complete body.
        if request.transport is not None:
            request.transport.abort()
        return response

    def _rotate_if_asked(self, request: web.Request, response: web.Response) -> None:
        """Once per ``rotate_session_key = True``: hand out a renewed key, like claude.ai."""
        with self._lock:
            if not self.rotate_session_key:
                return
            self.rotate_session_key = False
            key = new_session_key()
            self.valid_session_keys.add(key)
            self.rotated_session_key = key
            old = request.cookies.get("sessionKey", "")
            if old in self._key_emails:
                self._key_emails[key] = self._key_emails[old]
        response.headers.add(hdrs.SET_COOKIE, _session_cookie(request, key))

    # -----------------------------------------------------------------------------------------
    # Pages
    # -----------------------------------------------------------------------------------------

    def _active_chat_org(self, request: web.Request) -> JSONObject | None:
        """The ``lastActiveOrg`` cookie's organization when it is a chat org, else the first."""
        chat_orgs = [o for o in self.organizations_payload if "chat" in o["capabilities"]]
        wanted = request.cookies.get("lastActiveOrg")
        for org in chat_orgs:
            if org["uuid"] == wanted:
                return org
        return chat_orgs[0] if chat_orgs else None

    async def _handle_root(self, request: web.Request) -> web.StreamResponse:
        target = "/new" if self._signed_in_for_pages(request) else "/login"
        return web.Response(status=302, headers={hdrs.LOCATION: target})

    async def _handle_new(self, request: web.Request) -> web.StreamResponse:
        if not self._signed_in_for_pages(request):
            return web.Response(status=302, headers={hdrs.LOCATION: "/login"})
        org = self._active_chat_org(request)
        plan = _plan(org)
        name = org["name"] if org else payloads.API_ORG_NAME
        return web.Response(text=pages.new_chat_page(plan, name), content_type="text/html")

    async def _handle_usage_page(self, request: web.Request) -> web.StreamResponse:
        if not self._signed_in_for_pages(request):
            return web.Response(status=302, headers={hdrs.LOCATION: "/login"})
        org = self._active_chat_org(request)
        org_uuid = org["uuid"] if org else None
        html = pages.usage_page(
            self.usage_for(org_uuid) if org_uuid else None,
            plan=_plan(org),
            org_uuid=org_uuid,
            org_name=org["name"] if org else payloads.API_ORG_NAME,
            now=payloads.utc_now(),
        )
        return web.Response(text=html, content_type="text/html")

    # -----------------------------------------------------------------------------------------
    # Sign-in
    # -----------------------------------------------------------------------------------------

    async def _handle_login_page(self, request: web.Request) -> web.StreamResponse:
        if self._signed_in_for_pages(request) and self._failure != FAIL_LOGIN_REDIRECT:
            return web.Response(status=302, headers={hdrs.LOCATION: "/new"})
        html = signin_pages.login_page(self._login_variant)
        response = web.Response(text=html, content_type="text/html")
        device = request.cookies.get("login_device")
        if not device:
            device = secrets.token_urlsafe(18)
            response.headers.add(
                hdrs.SET_COOKIE, _plain_cookie(request, "login_device", device, 3600)
            )
        with self._lock:
            self._pending_devices.add(device)
        return response

    def _sign_in(self, request: web.Request, response: web.Response, email: str) -> str:
        """Issue a new session key for ``email`` and set it (and lastActiveOrg) as cookies."""
        key = new_session_key()
        with self._lock:
            self.valid_session_keys.add(key)
            self.signed_in_keys.append(key)
            self._key_emails[key] = email
        response.headers.add(hdrs.SET_COOKIE, _session_cookie(request, key))
        org = self._active_chat_org(request)
        if org is not None:
            # claude.ai's front end reads this one, so it is not HttpOnly.
            cookie = _plain_cookie(
                request, "lastActiveOrg", org["uuid"], SESSION_MAX_AGE, http_only=False
            )
            response.headers.add(hdrs.SET_COOKIE, cookie)
        return key

    async def _handle_send_magic_link(self, request: web.Request) -> web.StreamResponse:
        data = await _json_object(request)
        email = data.get("email_address") or data.get("email")
        if not isinstance(email, str) or "@" not in email:
            error = payloads.error_payload(
                "invalid_request_error", "Please enter a valid email address."
            )
            return _json(400, error)
        if self._login_failure == LOGIN_FAIL_RATE_LIMITED:
            error = payloads.error_payload("rate_limit_error", signin_pages.RATE_LIMITED_MESSAGE)
            return _json(429, error)
        if self._login_failure == LOGIN_FAIL_SEND_ERROR:
            return _json(500, payloads.error_payload("api_error", signin_pages.SEND_FAILED_MESSAGE))
        device = request.cookies.get("login_device")
        self.email_logins.start(email, device, self._login_variant)
        return _json(200, {"sent": True, "sso_url": None})

    async def _handle_magic_link_page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=signin_pages.magic_link_page(), content_type="text/html")

    async def _handle_exchange_nonce(self, request: web.Request) -> web.StreamResponse:
        nonce = (await _json_object(request)).get("nonce")
        opened = (
            self.email_logins.open_link(nonce, request.cookies.get("login_device"))
            if isinstance(nonce, str)
            else None
        )
        if opened is None:
            error = payloads.error_payload("invalid_request_error", "This link has expired.")
            return _json(400, error)
        email, code = opened
        if code is not None:
            return _json(200, {"code": code})
        response = _json(200, {"signed_in": True})
        self._sign_in(request, response, email)
        return response

    async def _handle_verify_magic_link(self, request: web.Request) -> web.StreamResponse:
        data = await _json_object(request)
        email, code = data.get("email"), data.get("code")
        if not isinstance(email, str) or not isinstance(code, str):
            return _json(400, _invalid_code_error())
        if not self.email_logins.verify(email, code, request.cookies.get("login_device")):
            return _json(400, _invalid_code_error())
        account = {"uuid": payloads.ACCOUNT_UUID, "email_address": email.strip()}
        response = _json(200, {"success": True, "account": account})
        self._sign_in(request, response, email.strip())
        return response

    async def _handle_login_poll(self, request: web.Request) -> web.StreamResponse:
        device = request.cookies.get("login_device")
        if not device:
            return _json(400, {"status": "unknown_device"})
        with self._lock:
            approved = self.auto_approve_logins or device in self._approved_devices
            self._approved_devices.discard(device)
            if approved:
                self._pending_devices.discard(device)
            else:
                self._pending_devices.add(device)
        if not approved:
            return _json(200, {"status": "pending"})
        response = _json(200, {"status": "approved"})
        self._sign_in(request, response, DEMO_EMAIL)
        return response


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _plan(org: JSONObject | None) -> str | None:
    if org is None:
        return None
    return next((c for c in org["capabilities"] if c.startswith("claude_")), None)


def _invalid_code_error() -> JSONObject:
    return payloads.error_payload("invalid_request_error", signin_pages.INVALID_CODE_MESSAGE)


def _wrong_shape(name: str, body: Any) -> Any:
    """Valid JSON of the wrong type for ``name``'s endpoint."""
    if name == "organizations":
        return {"organizations": body}  # an object where a list belongs
    if name == "usage":
        return [body]  # a list where an object belongs
    return "ok"


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Finish everything the loop still holds so no thread or task outlives it."""
    try:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return value


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


@contextlib.contextmanager
def running_lookalike(
    *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[LookalikeServer]:
    """Run a look-alike in a background thread for the duration of a ``with`` block.

    ``options`` are ``LookalikeServer`` keyword arguments (usage_shape, challenge, demo, ...).
    """
    server = LookalikeServer(**options)
    server.start_in_thread(host, port)
    try:
        yield server
    finally:
        server.stop_thread()
