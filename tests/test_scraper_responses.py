"""How one claude.ai response maps to data or an error code, for both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import json

import pytest

from custom_components.claude_usage.scraper.errors import ScraperError
from custom_components.claude_usage.scraper.responses import (
    RawResponse,
    decode,
    parse_retry_after,
)

JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html"}
CHALLENGE = {"cf-mitigated": "challenge", "content-type": "text/html"}
BASE = "https://claude.ai"


def response(status: int, body: object = "", headers: dict[str, str] | None = None, **kw):
    """Build a response; non-string bodies are JSON-encoded."""
    text = body if isinstance(body, str) else json.dumps(body)
    return RawResponse(
        status=status,
        url=kw.get("url", "https://claude.ai/api/organizations"),
        headers=headers or {},
        body=text,
    )


def error_body(message: str = "", type_: str = "permission_error", code: str | None = None):
    """claude.ai's JSON error envelope."""
    error: dict[str, object] = {"type": type_, "message": message}
    if code:
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (response(403, "<title>Just a moment...</title>", CHALLENGE), "blocked"),
        (response(403, "<html>Attention Required! cf-chl</html>", HTML), "blocked"),
        (response(503, "<title>Just a moment...</title>", HTML), "blocked"),
        (response(403, "<html>Access denied</html>", HTML), "blocked"),
        (response(403, {"detail": "nope"}, JSON), "blocked"),
        (response(403, error_body(type_="rate_error"), JSON), "blocked"),
        (response(403, error_body("x", code="account_session_invalid"), JSON), "auth_invalid"),
        (response(403, error_body("x", type_="authentication_error"), JSON), "auth_invalid"),
        (
            response(
                403,
                error_body("Invalid authorization for organization", code="x"),
                JSON,
            ),
            "org_unavailable",
        ),
        (response(401, error_body(type_="authentication_error"), JSON), "auth_invalid"),
        (response(302, "", {"location": "/login?returnTo=%2F"}), "auth_invalid"),
        (response(301, "", {"location": "/elsewhere"}), "bad_response"),
        (response(200, "<html>sign in</html>", HTML, url=f"{BASE}/login"), "auth_invalid"),
        (response(200, "<html>bye</html>", HTML, url=f"{BASE}/logout"), "auth_invalid"),
        (response(429, "", {"retry-after": "30"}), "rate_limited"),
        (response(500, "oops", HTML), "server_error"),
        (response(502, "bad gateway", HTML), "server_error"),
        (response(404, error_body(type_="not_found_error"), JSON), "bad_response"),
        (response(200, "<html>not json</html>", JSON), "bad_response"),
    ],
)
def test_error_mapping(raw: RawResponse, code: str) -> None:
    """Every failure of CLAUDE_DATA.md has its code; a challenge is never auth_invalid."""
    with pytest.raises(ScraperError) as caught:
        decode(raw)
    assert caught.value.code == code
    assert caught.value.to_result()["error"] == code


def test_success_returns_json() -> None:
    """A 200 with JSON returns the decoded body."""
    assert decode(response(200, [{"uuid": "u"}], JSON)) == [{"uuid": "u"}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("120", 120), (" 7 ", 7), ("soon", None), ("-5", None)],
)
def test_retry_after_seconds(value: str | None, expected: int | None) -> None:
    """Retry-After in seconds; anything unreadable is None."""
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    """Retry-After as an HTTP date becomes the seconds until then."""
    when = datetime.now(UTC) + timedelta(seconds=90)
    assert 85 <= (parse_retry_after(format_datetime(when, usegmt=True)) or 0) <= 91
    past = datetime.now(UTC) - timedelta(hours=1)
    assert parse_retry_after(format_datetime(past, usegmt=True)) == 0
