"""Keeps session keys out of everything written to logs, on both sides of the pipe."""

from __future__ import annotations

from collections.abc import Iterable
import json
import logging
import re
import sys

_KEY_PATTERN = re.compile(r"sk-ant-[A-Za-z0-9_\-]{4,}")
_COOKIE_PATTERN = re.compile(r"(sessionKey=)[^;\s\"',&]*", re.IGNORECASE)
_EMAIL_PATTERN = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Any JSON string under a key that names someone or something: organizations, people.
_NAME_PATTERN = re.compile(r'("(?:\w+_)?name"\s*:\s*")(?:[^"\\]|\\.)*(")', re.IGNORECASE)
REDACTED = "**REDACTED**"
SAMPLE_LENGTH = 500
"""Characters of an answer that did not parse kept for the log."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with the given secrets, and anything shaped like a session key, hidden."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _KEY_PATTERN.sub(REDACTED, text)


def redact_sample(
    text: str, secrets: Iterable[str] = (), names: Iterable[str] = (), limit: int = SAMPLE_LENGTH
) -> str:
    """Return the start of a response body fit for a log: no key, cookie, email or name.

    Redacted before it is cut, so that a secret cut in half cannot slip through.
    """
    text = _COOKIE_PATTERN.sub(rf"\g<1>{REDACTED}", redact(text, secrets))
    text = _EMAIL_PATTERN.sub(REDACTED, text)
    text = _NAME_PATTERN.sub(rf"\g<1>{REDACTED}\g<2>", text)
    for name in names:
        if name:
            # Names appear JSON-escaped in bodies ("Jane\u2019s ...") as well as plain.
            for form in {name, json.dumps(name)[1:-1]}:
                text = text.replace(form, REDACTED)
    return text[:limit]


class Secrets:
    """The secrets of this run; anything shown to a person passes through `redact`."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        """Remember a secret (ignored when empty)."""
        if value:
            self._values.add(value)

    def redact(self, text: str) -> str:
        """Return `text` with every known secret, and anything shaped like a key, hidden."""
        return redact(text, self._values)


class _RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return self._secrets.redact(super().format(record))


def setup_logging(secrets: Secrets) -> None:
    """Send log records, redacted, to stderr (stdout carries only the JSON result)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
