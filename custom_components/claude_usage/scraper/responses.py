"""Turns one claude.ai response into data or a contract error, the same for both backends."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
import json
import time
from urllib.parse import urlsplit

from .errors import ScraperError
from .protocol import ErrorCode

_WRONG_ORG_MESSAGE = "invalid authorization for organization"
_SESSION_INVALID_CODES = frozenset({"account_session_invalid"})
_AUTH_ERROR_TYPES = frozenset({"permission_error", "authentication_error"})
_CHALLENGE_MARKERS = ("just a moment...", "cf-chl", "challenge-platform")


@dataclass(frozen=True)
class RawResponse:
    """The parts of an HTTP response that decide what it means."""

    status: int
    url: str
    headers: dict[str, str]
    """Lower-case header names."""
    body: str


def is_login_url(url: str) -> bool:
    """Return True for claude.ai's sign-in pages, where a signed-out request ends up."""
    path = urlsplit(url).path
    return path == "/login" or path.startswith(("/login/", "/logout"))


def is_challenge(response: RawResponse) -> bool:
    """Return True for a Cloudflare challenge, which says nothing about the session."""
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    if response.status in (403, 503) and "json" not in response.headers.get("content-type", ""):
        lowered = response.body[:4096].lower()
        return any(marker in lowered for marker in _CHALLENGE_MARKERS)
    return False


def decode(response: RawResponse) -> object:
    """Return the JSON body of a successful response, or raise the matching ScraperError."""
    if is_challenge(response):
        raise ScraperError(ErrorCode.BLOCKED, "Cloudflare answered with a challenge page.")
    if 300 <= response.status < 400 or is_login_url(response.url):
        location = response.headers.get("location", response.url)
        if is_login_url(location):
            raise ScraperError(ErrorCode.AUTH_INVALID, _signed_out())
        raise ScraperError(
            ErrorCode.BAD_RESPONSE,
            f"Unexpected redirect (HTTP {response.status}).",
            sample=response.body,
        )
    if response.status == 401:
        raise ScraperError(ErrorCode.AUTH_INVALID, _signed_out())
    if response.status == 403:
        raise _forbidden(response)
    if response.status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise ScraperError(
            ErrorCode.RATE_LIMITED, "Claude is rate limiting requests.", retry_after=retry_after
        )
    if response.status >= 500:
        raise ScraperError(ErrorCode.SERVER_ERROR, f"Claude answered HTTP {response.status}.")
    if response.status != 200:
        raise ScraperError(
            ErrorCode.BAD_RESPONSE, f"Unexpected HTTP {response.status}.", sample=response.body
        )
    try:
        return json.loads(response.body)
    except ValueError:
        raise ScraperError(
            ErrorCode.BAD_RESPONSE,
            "Claude answered with a body that is not JSON.",
            sample=response.body,
        ) from None


def _signed_out() -> str:
    return "Claude rejected the session key (expired or signed out)."


def _forbidden(response: RawResponse) -> ScraperError:
    """Map a 403: wrong organization, then an invalid session; anything else is Cloudflare's."""
    try:
        payload = json.loads(response.body)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return ScraperError(ErrorCode.BLOCKED, "Claude refused the request (HTTP 403).")
    message = str(error.get("message") or "")
    if _WRONG_ORG_MESSAGE in message.lower():
        return ScraperError(
            ErrorCode.ORG_UNAVAILABLE, "This session cannot read the chosen organization."
        )
    details = error.get("details")
    code = details.get("error_code") if isinstance(details, dict) else None
    if code in _SESSION_INVALID_CODES or error.get("type") in _AUTH_ERROR_TYPES:
        return ScraperError(ErrorCode.AUTH_INVALID, _signed_out())
    return ScraperError(ErrorCode.BLOCKED, "Claude refused the request (HTTP 403).")


def parse_retry_after(value: str | None) -> int | None:
    """Return Retry-After in whole seconds (from seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, round(when.timestamp() - time.time()))
