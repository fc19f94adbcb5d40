"""The look-alike's sign-in pages, as CLAUDE_DATA.md ("Signing in") describes claude.ai's.

`/login`: the email field and "Continue with email"; then either the code field at once
(``LOGIN_CODE_AT_ONCE``) or, as claude.ai does now (``LOGIN_LINK_FIRST``), a notice that a sign-in
link was mailed with an "Enter verification code" button that opens the code field. Errors are
the page's own words in an ordinary element. `/magic-link#<nonce>:<email>`: the mailed link; in
the browser that asked it signs in, anywhere else it shows the six-digit code to type "where you
first tried to sign in". Like every claude.ai page they carry Next.js's 1-pixel
``role="alert"`` route announcer (``pages.document``), so a scraper that takes a visible alert
for an error fails here as it would there.
"""

from __future__ import annotations

from typing import Final

from .pages import document

LOGIN_LINK_FIRST: Final = "link_first"
LOGIN_CODE_AT_ONCE: Final = "code_at_once"
LOGIN_VARIANTS: Final = (LOGIN_LINK_FIRST, LOGIN_CODE_AT_ONCE)

RATE_LIMITED_MESSAGE: Final = "Too many login attempts. Please wait a while and try again."
SEND_FAILED_MESSAGE: Final = "There was an error sending you a login link. Please try again."
INVALID_CODE_MESSAGE: Final = "Invalid code. Check the latest email and try again."
LINK_CODE_HEADING: Final = "Use verification code to continue"

_LOGIN_BODY: Final = """<main data-variant="%(variant)s">
<h1>Sign in to Claude</h1>
<form id="email-form" novalidate>
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="email" data-testid="email"
         placeholder="Enter your personal or work email" required>
  <button type="submit" data-testid="continue">Continue with email</button>
</form>
<section id="link-sent" hidden>
  <h2>Check your email</h2>
  <p>We sent a sign-in link to <strong id="link-sent-to"></strong>. Open it on this device to
  sign in, or open it anywhere and enter the code it shows.</p>
  <button type="button" id="enter-code" data-testid="enter-code">Enter verification code</button>
</section>
<form id="code-form" novalidate hidden>
  <p id="code-hint"></p>
  <label for="code">Verification code</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
         data-testid="code" maxlength="6" pattern="[0-9]{6}">
  <button type="submit" data-testid="continue">Verify email address</button>
</form>
<p id="login-error" class="error" data-testid="login-error" hidden></p>
</main>"""

_LOGIN_SCRIPT: Final = """
const main = document.querySelector("main");
const emailForm = document.getElementById("email-form");
const linkSent = document.getElementById("link-sent");
const codeForm = document.getElementById("code-form");
const errorBox = document.getElementById("login-error");
let email = "";

function showError(data, fallback) {
  errorBox.textContent = (data && data.error && data.error.message) || fallback;
  errorBox.hidden = false;
}

function show(view, title, hint) {
  for (const part of [emailForm, linkSent, codeForm]) { part.hidden = part !== view; }
  if (hint) { document.getElementById("code-hint").textContent = hint; }
  window.announceRoute(title);
  if (view === codeForm) { document.getElementById("code").focus(); }
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  return {ok: response.ok, data: data};
}

emailForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  email = document.getElementById("email").value.trim();
  const result = await postJson("/api/auth/send_magic_link", {email_address: email});
  if (!result.ok) { showError(result.data, "%(send_failed)s"); return; }
  if (main.dataset.variant === "%(code_at_once)s") {
    show(codeForm, "Verify your email - Claude", "Enter the verification code sent to " + email);
    return;
  }
  document.getElementById("link-sent-to").textContent = email;
  show(linkSent, "Check your email - Claude");
});

document.getElementById("enter-code").addEventListener("click", () => {
  show(codeForm, "Verify your email - Claude",
       "Enter the code from the page that the link in the mail opens");
});

codeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const code = document.getElementById("code").value.trim();
  const result = await postJson("/api/auth/verify_magic_link", {email: email, code: code});
  if (result.ok) { location.assign("/new"); return; }
  showError(result.data, "%(invalid_code)s");
});

// Sign-in by any other method (another tab, a passkey, a test calling
// approve_pending_logins) finishes here: the poll answers with the session cookie.
async function poll() {
  try {
    const response = await fetch("/api/auth/poll", {credentials: "same-origin"});
    const data = await response.json();
    if (data.status === "approved") { location.assign("/new"); return; }
  } catch (err) { /* keep polling */ }
  setTimeout(poll, 500);
}
setTimeout(poll, 500);
"""

_LINK_BODY: Final = """<main>
<section id="link-pending"><p>Signing you in…</p></section>
<section id="link-code" hidden>
  <h1>%(heading)s</h1>
  <p>Enter this verification code where you first tried to sign in</p>
  <div class="verification-code" data-testid="verification-code" id="verification-code"></div>
  <button type="button" id="copy-code">Copy code</button>
  <a href="/login">Sign in here instead</a>
</section>
<section id="link-expired" hidden>
  <h1>This link has expired</h1>
  <p><a href="/login">Sign in again</a> to get a new link.</p>
</section>
</main>"""

_LINK_SCRIPT: Final = """
(async function () {
  const nonce = location.hash.slice(1).split(":")[0];
  const show = (id, title) => {
    for (const part of document.querySelectorAll("main section")) { part.hidden = part.id !== id; }
    window.announceRoute(title);
  };
  let data = null;
  try {
    const response = await fetch("/api/auth/exchange_nonce_for_code", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({nonce: nonce}),
    });
    data = response.ok ? await response.json() : null;
  } catch (err) { data = null; }
  if (data && data.signed_in) { location.assign("/new"); return; }
  if (!data || !data.code) { show("link-expired", "Link expired - Claude"); return; }
  document.getElementById("verification-code").textContent = data.code;
  show("link-code", "Verify your email - Claude");
})();
"""


def login_page(variant: str) -> str:
    """The sign-in page in one of ``LOGIN_VARIANTS``."""
    script = _LOGIN_SCRIPT % {
        "send_failed": SEND_FAILED_MESSAGE,
        "invalid_code": INVALID_CODE_MESSAGE,
        "code_at_once": LOGIN_CODE_AT_ONCE,
    }
    body = _LOGIN_BODY % {"variant": variant}
    return document("Sign in - Claude", body, script=script)


def magic_link_page() -> str:
    """The page that the mailed link opens (the nonce is in the URL's fragment)."""
    body = _LINK_BODY % {"heading": LINK_CODE_HEADING}
    return document("Claude", body, script=_LINK_SCRIPT)
