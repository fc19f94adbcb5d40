"""The fast path: HTTPS with a browser-grade TLS fingerprint (curl_cffi), no browser.

Cloudflare challenges clients whose TLS handshake does not look like a browser's, so this uses
curl_cffi's Chrome impersonation. When the browser backend has earned a `cf_clearance` cookie,
this backend presents it with the browser's User-Agent, to which Cloudflare binds it.

This path runs every few minutes in a fresh Python, so its import cost is most of its cost:
it drives libcurl's easy handle (`curl_cffi.curl`) directly and lets libcurl's own cookie
engine keep the cookies, instead of `curl_cffi.requests` (an asyncio client, websockets, a
cache, `http.cookiejar`), which took longer to import than the whole poll now takes.
"""

from __future__ import annotations

import importlib.util
from io import BytesIO
import logging
import sys
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from .deadline import Deadline
from .errors import ScraperError
from .protocol import ErrorCode
from .responses import RawResponse, decode
from .state import SavedState, with_session_key

if TYPE_CHECKING:
    from curl_cffi.curl import Curl

_LOGGER = logging.getLogger(__name__)

IMPERSONATE = "chrome152"
"""The newest Chrome profile curl_cffi 0.17 offers; Cloudflare trusts current browsers most."""
_RESERVE_SECONDS = 0.5
"""Time kept back from each request's budget to report the result before the deadline."""
_CURLE_OPERATION_TIMEDOUT = 28
_HTTP_ONLY_PREFIX = "#HttpOnly_"


def _curl_module() -> ModuleType:
    """Import `curl_cffi.curl` without running `curl_cffi/__init__.py`.

    The package's `__init__` imports its whole requests and asyncio layer (about 0.1 s of CPU,
    more than a poll's GETs). An empty package module with the real `__path__` lets the
    binding and its constants import alone; it is only made when nothing imported the package
    yet, and nothing else in the scraper's process uses curl_cffi.
    """
    if "curl_cffi" not in sys.modules:
        spec = importlib.util.find_spec("curl_cffi")
        if spec is None:
            raise ScraperError(ErrorCode.INTERNAL, "The Python package 'curl_cffi' is missing.")
        sys.modules["curl_cffi"] = importlib.util.module_from_spec(spec)
    from curl_cffi import curl

    return curl


class HttpTransport:
    """Reads claude.ai's JSON endpoints over one libcurl handle (one connection, kept alive)."""

    source = "http"

    def __init__(
        self, base_url: str, session_key: str, saved: SavedState, deadline: Deadline
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._host = urlsplit(self._base_url).hostname or ""
        self._deadline = deadline
        self._user_agent = saved.user_agent if saved.has_clearance() else None
        self._cookies = with_session_key(saved.live_cookies(), session_key, self._host)
        self._origins = saved.origins
        self._curl: Curl | None = None
        self._module: ModuleType | None = None

    async def __aenter__(self) -> Self:
        self._module = module = _curl_module()
        options = module.CurlOpt
        self._curl = handle = module.Curl()
        handle.impersonate(IMPERSONATE)
        handle.setopt(options.FOLLOWLOCATION, 0)
        handle.setopt(options.NOSIGNAL, 1)
        handle.setopt(options.COOKIEFILE, "")  # an empty name turns on the in-memory engine
        for record in self._cookies:
            handle.setopt(options.COOKIELIST, _to_netscape(record, self._host))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._curl is not None:
            self._curl.close()

    def _headers(self) -> list[bytes]:
        headers = [
            "Accept: application/json, text/plain, */*",
            "Accept-Language: en-US,en;q=0.9",
            f"Referer: {self._base_url}/settings/usage",
        ]
        if self._user_agent:
            headers.append(f"User-Agent: {self._user_agent}")
        return [header.encode() for header in headers]

    async def get_json(self, path: str) -> object:
        """GET `path` and return its JSON, or raise the contract's error for the response.

        The request blocks this process's loop; the scraper runs nothing else meanwhile, and
        libcurl's own timeout (the run's remaining budget) bounds it.
        """
        handle, module = self._curl, self._module
        assert handle is not None
        assert module is not None
        options, info = module.CurlOpt, module.CurlInfo
        body, head = BytesIO(), BytesIO()
        handle.setopt(options.URL, f"{self._base_url}{path}")
        handle.setopt(options.HTTPHEADER, self._headers())
        budget_ms = int(self._deadline.budget(reserve=_RESERVE_SECONDS) * 1000)
        handle.setopt(options.TIMEOUT_MS, max(1, budget_ms))
        handle.setopt(options.WRITEDATA, body)
        handle.setopt(options.HEADERDATA, head)
        try:
            handle.perform()
        except module.CurlError as err:
            if getattr(err, "code", None) == _CURLE_OPERATION_TIMEDOUT:
                raise ScraperError(ErrorCode.TIMEOUT, "Claude did not answer in time.") from err
            raise ScraperError(
                ErrorCode.NETWORK, f"Could not reach {self._host}: curl error {err.code}."
            ) from err
        status, url = handle.getinfo(info.RESPONSE_CODE), handle.getinfo(info.EFFECTIVE_URL)
        assert isinstance(status, int)
        assert isinstance(url, bytes)
        _LOGGER.debug("GET %s -> %s", path, status)
        return decode(
            RawResponse(
                status=status,
                url=url.decode(),
                headers=_parse_headers(head.getvalue()),
                body=body.getvalue().decode("utf-8", "replace"),
            )
        )

    async def export_state(self) -> SavedState:
        """Return the cookies as they are now, renewed session key and clearance included."""
        assert self._curl is not None
        assert self._module is not None
        lines = self._curl.getinfo(self._module.CurlInfo.COOKIELIST)
        assert isinstance(lines, list)
        cookies = [_from_netscape(line) for line in lines]
        return SavedState([c for c in cookies if c], self._origins, self._user_agent)


def _parse_headers(raw: bytes) -> dict[str, str]:
    """Return the last response's headers by lower-case name (the last of repeated ones)."""
    headers: dict[str, str] = {}
    for line in raw.decode("latin-1").splitlines():
        if line.startswith("HTTP/"):
            headers.clear()  # a new response (an interim 1xx came before)
        elif ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers


def _to_netscape(record: dict[str, Any], default_domain: str) -> str:
    """Return one cookie as a line of libcurl's (Netscape) cookie file format."""
    domain = str(record.get("domain") or default_domain)
    expires = record.get("expires")
    fields = (
        f"{_HTTP_ONLY_PREFIX if record.get('httpOnly') else ''}{domain}",
        "TRUE" if domain.startswith(".") else "FALSE",
        str(record.get("path") or "/"),
        "TRUE" if record.get("secure") else "FALSE",
        str(int(expires)) if isinstance(expires, int | float) and expires > 0 else "0",
        str(record["name"]),
        str(record["value"]),
    )
    return "\t".join(fields)


def _from_netscape(line: bytes | str | int) -> dict[str, Any] | None:
    """Return a cookie in the state folder's (Playwright's) shape from a libcurl line."""
    text = line.decode() if isinstance(line, bytes) else str(line)
    fields = text.split("\t")
    if len(fields) != 7:
        return None
    domain, _, path, secure, expires, name, value = fields
    http_only = domain.startswith(_HTTP_ONLY_PREFIX)
    return {
        "name": name,
        "value": value,
        "domain": domain.removeprefix(_HTTP_ONLY_PREFIX),
        "path": path,
        "expires": int(expires) if expires.isdigit() and int(expires) > 0 else -1,
        "httpOnly": http_only,
        "secure": secure == "TRUE",
        "sameSite": "Lax",
    }
