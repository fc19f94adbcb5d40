"""Where things are on claude.ai's sign-in page, and what its words mean: one table to update.

Each element is found by its accessible role and name first (what a person sees, the most
stable), then its `data-testid`, then CSS. Sources: CLAUDE_DATA.md ("Signing in"), from public
automation of claude.ai's sign-in. Outcomes are read from the page's own words and from where the
browser lands, never from a "visible alert": claude.ai is a Next.js app, and Next.js keeps a
1-pixel `role="alert"` route announcer on every page that holds the page's title.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

type Role = Literal["button", "textbox"]


@dataclass(frozen=True, slots=True)
class Target:
    """One element of the sign-in page, with its ways to be found, best first."""

    role: Role
    name: re.Pattern[str]
    test_id: str | None = None
    css: str | None = None

    def candidates(self, page: Page) -> list[Locator]:
        """Return a locator per way to find the element, in the order to try them."""
        found = [page.get_by_role(self.role, name=self.name)]
        if self.test_id is not None:
            found.append(page.get_by_test_id(self.test_id))
        if self.css is not None:
            found.append(page.locator(self.css))
        return found


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


EMAIL_INPUT = Target("textbox", _words(r"^\s*email"), "email", 'input[type="email"], input#email')
CONTINUE_WITH_EMAIL = Target("button", _words(r"continue with email"), "continue")
# Shown with the mailed-link notice when the code field does not come at once.
ENTER_CODE = Target("button", _words(r"enter verification code"), "enter-code")
CODE_INPUT = Target(
    "textbox",
    _words(r"verification code|^\s*code\s*$"),
    "code",
    'input[autocomplete="one-time-code"], input#code, input[name="code"]',
)
VERIFY_CODE = Target("button", _words(r"verify"), "continue")

RATE_LIMITED_WORDS = _words(r"too many (?:login|sign[- ]in) attempts")
SEND_FAILED_WORDS = _words(r"error sending you a (?:login|sign[- ]in) link")
CODE_REJECTED_WORDS = _words(
    r"invalid (?:verification )?code|incorrect code|wrong code|code (?:is )?(?:invalid|incorrect"
    r"|expired|no longer valid)|code has expired"
)
# Where the browser is while signing in; having left these with a session cookie is success
# (claude.ai lands on /new or /chat/..., a new account on its onboarding).
SIGN_IN_PATHS = re.compile(r"^/(?:login|magic-link)(?:/|$)")
