"""The fast path: HTTPS with a browser-grade TLS fingerprint (curl_cffi), no browser.

Cloudflare challenges clients whose TLS handshake does not look like a browser's, so this uses
curl_cffi's Chrome impersonation. When the browser backend has earned a `cf_clearance` cookie,
this backend presents it with the browser's User-Agent, to which Cloudflare binds it.
"""

from __future__ import annotations

from http.cookiejar import Cookie
import logging
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from curl_cffi.requests import AsyncSession, exceptions as curl_errors

from .deadline import Deadline
from .errors import ScraperError
from .protocol import ErrorCode
from .responses import RawResponse, decode
from .state import SavedState, with_session_key

_LOGGER = logging.getLogger(__name__)

IMPERSONATE = "chrome"
_RESERVE_SECONDS = 0.5
"""Time kept back from each request's budget to report the result before the deadline."""


class HttpTransport:
    """Reads claude.ai's JSON endpoints over one HTTPS session."""

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
        self._session: AsyncSession[Any] | None = None

    async def __aenter__(self) -> Self:
        headers = {
            "Accept": "application/json, text/plain, */*",
            "Accept-Language": "en-US,en;q=0.9",
            "Referer": f"{self._base_url}/settings/usage",
        }
        if self._user_agent:
            headers["User-Agent"] = self._user_agent
        self._session = AsyncSession(
            impersonate=IMPERSONATE, headers=headers, allow_redirects=False
        )
        for record in self._cookies:
            self._session.cookies.jar.set_cookie(_to_jar_cookie(record, self._host))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_json(self, path: str) -> object:
        """GET `path` and return its JSON, or raise the contract's error for the response."""
        assert self._session is not None
        url = f"{self._base_url}{path}"
        try:
            response = await self._session.get(
                url, timeout=self._deadline.budget(reserve=_RESERVE_SECONDS)
            )
        except curl_errors.Timeout as err:
            raise ScraperError(ErrorCode.TIMEOUT, "Claude did not answer in time.") from err
        except curl_errors.RequestException as err:
            raise ScraperError(
                ErrorCode.NETWORK, f"Could not reach {self._host}: {type(err).__name__}."
            ) from err
        _LOGGER.debug("GET %s -> %s", path, response.status_code)
        return decode(
            RawResponse(
                status=response.status_code,
                url=str(response.url),
                headers={k.lower(): v for k, v in response.headers.items() if v is not None},
                body=response.text,
            )
        )

    async def export_state(self) -> SavedState:
        """Return the cookies as they are now, renewed session key and clearance included."""
        assert self._session is not None
        cookies = [_from_jar_cookie(cookie) for cookie in self._session.cookies.jar]
        return SavedState(cookies, self._origins, self._user_agent)


def _to_jar_cookie(record: dict[str, Any], default_domain: str) -> Cookie:
    domain = str(record.get("domain") or default_domain)
    expires = record.get("expires")
    return Cookie(
        version=0,
        name=record["name"],
        value=record["value"],
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=domain.startswith("."),
        domain_initial_dot=domain.startswith("."),
        path=str(record.get("path") or "/"),
        path_specified=True,
        secure=bool(record.get("secure")),
        expires=int(expires) if isinstance(expires, int | float) and expires > 0 else None,
        discard=False,
        comment=None,
        comment_url=None,
        rest={"HttpOnly": ""} if record.get("httpOnly") else {},
    )


def _from_jar_cookie(cookie: Cookie) -> dict[str, Any]:
    return {
        "name": cookie.name,
        "value": cookie.value or "",
        "domain": cookie.domain,
        "path": cookie.path,
        "expires": cookie.expires if cookie.expires else -1,
        "httpOnly": cookie.has_nonstandard_attr("HttpOnly")
        or cookie.get_nonstandard_attr("http_only") == "True",
        "secure": cookie.secure,
        "sameSite": "Lax",
    }
