"""Email sign-ins in progress: the mailed link, the codes, and who may finish with them.

One sign-in per address at a time, as on claude.ai (asking again replaces the earlier one). The
mail carries a link ``/magic-link#<nonce>:<base64 email>``, and in the ``code_at_once`` variant a
six-digit code as well. Opening the link in the browser that asked signs it in; opening it
anywhere else shows a code instead (claude.ai's "Use verification code to continue"), which the
browser that asked accepts like the mailed one. Codes are single use.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import secrets
import threading
from typing import Final

from .signin_pages import LOGIN_CODE_AT_ONCE

MAGIC_LINK_PATH: Final = "/magic-link"


@dataclass(slots=True)
class _EmailLogin:
    email: str
    device: str | None  # the `login_device` cookie of the browser that asked
    nonce: str
    mailed_code: str | None
    link_code: str | None = None


def _code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _normalize(email: str) -> str:
    """Addresses compare without case or surrounding blanks."""
    return email.strip().lower()


class EmailLogins:
    """The sign-ins that are waiting for a link to be opened or a code to be typed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_email: dict[str, _EmailLogin] = {}

    def start(self, email: str, device: str | None, variant: str) -> None:
        """Mail a sign-in link (and, in the ``code_at_once`` variant, a code) to ``email``."""
        login = _EmailLogin(
            email=email.strip(),
            device=device,
            nonce=secrets.token_urlsafe(24),
            mailed_code=_code() if variant == LOGIN_CODE_AT_ONCE else None,
        )
        with self._lock:
            self._by_email[_normalize(email)] = login

    def link_path(self, email: str) -> str | None:
        """The path and fragment of the link last mailed to ``email``."""
        with self._lock:
            login = self._by_email.get(_normalize(email))
        if login is None:
            return None
        address = base64.b64encode(login.email.encode()).decode()
        return f"{MAGIC_LINK_PATH}#{login.nonce}:{address}"

    def open_link(self, nonce: str, device: str | None) -> tuple[str, str | None] | None:
        """Open a mailed link: ``(email, None)`` signs this browser in, ``(email, code)`` asks
        it to type ``code`` where the sign-in started; None for a link that is not valid."""
        with self._lock:
            login = next((v for v in self._by_email.values() if v.nonce == nonce), None)
            if login is None:
                return None
            if device is not None and device == login.device:
                del self._by_email[_normalize(login.email)]
                return login.email, None
            if login.link_code is None:
                login.link_code = _code()
            return login.email, login.link_code

    def link_code(self, email: str) -> str | None:
        """The code the mailed link shows on another device (opening it there if nobody has)."""
        with self._lock:
            login = self._by_email.get(_normalize(email))
            nonce = None if login is None else login.nonce
        opened = None if nonce is None else self.open_link(nonce, device=None)
        return None if opened is None else opened[1]

    def code_to_type(self, email: str) -> str | None:
        """The code a person would type: the mailed one, else the one the link page shows."""
        with self._lock:
            login = self._by_email.get(_normalize(email))
            mailed = None if login is None else login.mailed_code
        return mailed or self.link_code(email)

    def verify(self, email: str, code: str, device: str | None) -> bool:
        """Finish the sign-in of ``email`` in the browser that asked, with either code."""
        with self._lock:
            login = self._by_email.get(_normalize(email))
            accepted = (
                login is not None
                and device == login.device
                and code.strip() in {login.mailed_code, login.link_code} - {None}
            )
            if accepted:
                del self._by_email[_normalize(email)]
            return accepted
