"""The one exception type the scraper raises for a failure it can name."""

from __future__ import annotations

from typing import Any

from .protocol import PROTOCOL_VERSION, ErrorCode, Status

SAMPLE_SENT = 2000
"""Characters of an unexpected body sent with `bad_response`; the integration redacts the
session key, cookies, emails and names from them, then logs the first 500."""


class ScraperError(Exception):
    """A failure with an error code from the contract; becomes the JSON error result."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        retry_after: int | None = None,
        sample: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.sample = sample[:SAMPLE_SENT] if sample is not None else None

    def to_result(self) -> dict[str, Any]:
        """Return the error as the JSON object printed on stdout."""
        result: dict[str, Any] = {
            "status": Status.ERROR.value,
            "protocol": PROTOCOL_VERSION,
            "error": self.code.value,
            "message": self.message,
            "retry_after": self.retry_after,
        }
        if self.sample is not None:
            result["sample"] = self.sample
        return result
