"""HTML pages of the look-alike: sign-in, the usage settings page, the Cloudflare challenge.

The markup imitates what a browser sees on claude.ai closely enough for a Playwright scraper to
use the same locators on both (labels, roles, button names, ``data-org-plan``, progress bar
widths). Everything taken from a payload is escaped: tests feed arbitrary payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
import json
from typing import Any, Final

CHALLENGE_SOLVE_PATH: Final = "/cdn-cgi/challenge-platform/solve"
# Enough work that only a real JS engine answers in time, little enough to stay fast (~1 ms in V8,
# ~15 ms for the server's check in CPython).
CHALLENGE_ITERATIONS: Final = 100_000
# Real challenges make the visitor wait a moment; scrapers must wait for the reload, not sleep.
CHALLENGE_DELAY_MS: Final = 250

_FNV_PRIME: Final = 16777619
_MASK32: Final = 0xFFFFFFFF

# Model windows that are not "<Model> only" rows on the settings page.
_NOT_MODEL_WINDOWS: Final = frozenset({"oauth_apps", "cowork", "routines", "omelette"})
FREE_PLAN_TEXT: Final = "Usage limits are available on Claude Pro, Max and Team plans."
_CURRENCY_SYMBOLS: Final = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

_STYLE: Final = """
  [hidden] { display: none !important; }
  body { font-family: system-ui, sans-serif; margin: 0; background: #faf9f5; color: #141413; }
  main { max-width: 42rem; margin: 3rem auto; padding: 0 1rem; }
  form { display: flex; flex-direction: column; gap: .5rem; margin: 1rem 0; }
  input { padding: .5rem; font-size: 1rem; }
  button { padding: .5rem 1rem; font-size: 1rem; cursor: pointer; }
  [role=alert] { color: #b3261e; margin-top: 1rem; }
  .limit { margin: 1rem 0; }
  .bar { height: .5rem; background: #e8e6dc; border-radius: .25rem; overflow: hidden; }
  .fill { height: 100%; background: #d97757; }
"""


# What Next.js's app router adds to every claude.ai page: a shadow root with a visually hidden
# `role="alert"` live region, filled with the document title after each navigation. Pages call
# `announceRoute(title)` when they change their view.
_ROUTE_ANNOUNCER_SCRIPT: Final = """
(function () {
  const host = document.createElement("next-route-announcer");
  host.style.position = "absolute";
  const region = document.createElement("div");
  region.id = "__next-route-announcer__";
  region.setAttribute("role", "alert");
  region.setAttribute("aria-live", "assertive");
  region.style.cssText = "position:absolute;border:0;height:1px;margin:-1px;padding:0;" +
    "width:1px;clip:rect(0 0 0 0);overflow:hidden;white-space:nowrap;word-wrap:normal";
  host.attachShadow({mode: "open"}).appendChild(region);
  document.body.appendChild(host);
  window.announceRoute = function (title) {
    document.title = title;
    region.textContent = title;
  };
  window.announceRoute(document.title);
})();
"""


def document(
    title: str, body: str, *, plan: str | None = None, script: str = "", next_app: bool = True
) -> str:
    """A whole HTML page; `next_app` pages (all of claude.ai's own) carry the route announcer."""
    if next_app:
        script = _ROUTE_ANNOUNCER_SCRIPT + script
    plan_attr = f' data-org-plan="{escape(plan)}"' if plan else ""
    script_tag = f"<script>{script}</script>" if script else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"{plan_attr} data-theme="claude">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n{script_tag}\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------------------------
# Cloudflare-style JavaScript challenge
# ---------------------------------------------------------------------------------------------


def solve_challenge(seed: int, iterations: int = CHALLENGE_ITERATIONS) -> int:
    """The answer the challenge script computes (FNV-style mixing, unsigned 32-bit)."""
    value = seed & _MASK32
    for index in range(iterations):
        value = ((value ^ index) * _FNV_PRIME) & _MASK32
    return value


_CHALLENGE_SCRIPT: Final = """
(function () {
  var params = %(params)s;
  setTimeout(function () {
    var h = params.seed >>> 0;
    for (var i = 0; i < params.iterations; i++) { h = Math.imul(h ^ i, 16777619) >>> 0; }
    fetch(params.solvePath, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({id: params.id, answer: h})
    }).then(function (response) {
      if (response.ok) { location.reload(); return; }
      document.getElementById("challenge-running").textContent = "Verification failed.";
    });
  }, params.delayMs);
})();
"""


def challenge_page(challenge_id: str, seed: int, ray_id: str) -> str:
    """The 403 "Just a moment..." page whose script earns a ``cf_clearance`` cookie."""
    params = {
        "id": challenge_id,
        "seed": seed,
        "iterations": CHALLENGE_ITERATIONS,
        "solvePath": CHALLENGE_SOLVE_PATH,
        "delayMs": CHALLENGE_DELAY_MS,
    }
    body = f"""<div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">claude.ai</h1>
<h2 id="challenge-running" class="h2">Verifying you are human. This may take a few seconds.</h2>
<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>
<div id="challenge-body-text" class="core-msg spacer">claude.ai needs to review the security of
your connection before proceeding.</div>
</div></div>
<div class="footer" role="contentinfo"><div class="footer-inner">
<div class="ray-id">Ray ID: <code>{escape(ray_id)}</code></div>
<div class="text-center" id="footer-text">Performance &amp; security by Cloudflare</div>
</div></div>"""
    script = _CHALLENGE_SCRIPT % {"params": json.dumps(params)}
    return document("Just a moment...", body, script=script, next_app=False)


def server_error_page(ray_id: str) -> str:
    """A 500 page as an origin error comes through Cloudflare."""
    return (
        "<html>\n<head><title>500 Internal Server Error</title></head>\n<body>\n"
        "<center><h1>500 Internal Server Error</h1></center>\n"
        f"<hr><center>cloudflare</center>\n<!-- ray {escape(ray_id)} -->\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------------------------
# Signed in (the sign-in pages are in signin_pages.py)
# ---------------------------------------------------------------------------------------------


def new_chat_page(plan: str | None, org_name: str) -> str:
    """The signed-in landing page."""
    body = f"""<main>
<nav><span class="org-name">{escape(org_name)}</span> · <a href="/settings/usage">Usage</a></nav>
<h1>How can I help you today?</h1>
<textarea aria-label="Write your prompt to Claude" rows="3"></textarea>
</main>"""
    return document("Claude", body, plan=plan)


# ---------------------------------------------------------------------------------------------
# /settings/usage
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    utilization: float
    resets_at: datetime | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _window_bar(label: str, value: Any) -> _Bar | None:
    if not isinstance(value, dict):
        return None
    utilization = _number(value.get("utilization"))
    if utilization is None:
        return None
    return _Bar(label, utilization, _moment(value.get("resets_at")))


def _limit_entries(payload: dict[str, Any]) -> list[dict[str, Any]]:
    limits = payload.get("limits")
    if not isinstance(limits, list):
        return []
    return [item for item in limits if isinstance(item, dict) and item.get("is_active", True)]


def _limit_model(item: dict[str, Any]) -> str | None:
    scope = item.get("scope")
    model = scope.get("model") if isinstance(scope, dict) else None
    name = model.get("display_name") if isinstance(model, dict) else None
    return name if isinstance(name, str) else None


def _limit_surface(item: dict[str, Any]) -> str | None:
    """The product a surface-scoped limit applies to ("Claude Code")."""
    scope = item.get("scope")
    surface = scope.get("surface") if isinstance(scope, dict) else None
    if isinstance(surface, dict):
        surface = surface.get("display_name") or surface.get("id")
    return surface if isinstance(surface, str) else None


def _limit_bar(label: str, item: dict[str, Any]) -> _Bar | None:
    percent = _number(item.get("percent"))
    if percent is None:
        return None
    return _Bar(label, percent, _moment(item.get("resets_at")))


def _first_limit(payload: dict[str, Any], kind: str, label: str) -> _Bar | None:
    for item in _limit_entries(payload):
        if item.get("kind") == kind:
            return _limit_bar(label, item)
    return None


def _scoped_bars(payload: dict[str, Any]) -> list[_Bar]:
    bars: dict[str, _Bar] = {}
    for key, value in payload.items():
        name = key.removeprefix("seven_day_")
        if key.startswith("seven_day_") and name not in _NOT_MODEL_WINDOWS:
            bar = _window_bar(f"{name.capitalize()} only", value)
            if bar is not None:
                bars[name.lower()] = bar
    for item in _limit_entries(payload):
        if item.get("kind") != "weekly_scoped":
            continue
        model, surface = _limit_model(item), _limit_surface(item)
        label = f"{model} only" if model else surface
        if label and label.lower() not in bars:
            bar = _limit_bar(label, item)
            if bar is not None:
                bars[label.lower()] = bar
    return [bars[name] for name in sorted(bars)]


def _resets_in(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "Starts when a message is sent"
    minutes = max(0, int((moment - now).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"Resets in {hours} hr {minutes} min" if hours else f"Resets in {minutes} min"


def _resets_on(moment: datetime | None) -> str:
    if moment is None:
        return "Starts when a message is sent"
    moment = moment.astimezone(UTC)
    hour = moment.hour % 12 or 12
    return f"Resets {moment:%a} {hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def _bar_html(bar: _Bar, resets: str) -> str:
    width = min(bar.utilization, 100.0)
    return f"""<div class="limit">
  <div class="limit-label">{escape(bar.label)}</div>
  <div class="limit-resets">{escape(resets)}</div>
  <div class="bar" role="progressbar" aria-label="{escape(bar.label)}"
       aria-valuenow="{round(width)}" aria-valuemin="0" aria-valuemax="100">
    <div class="fill" style="width: {width}%"></div></div>
  <div class="limit-used">{round(bar.utilization)}% used</div>
</div>"""


def _money(amount_minor: Any, decimals: Any, currency: Any) -> str | None:
    amount = _number(amount_minor)
    if amount is None:
        return None
    places = decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else 2
    code = currency if isinstance(currency, str) else "USD"
    symbol = _CURRENCY_SYMBOLS.get(code, f"{code} ")
    return f"{symbol}{amount / 10**places:,.2f}"


def _extra_fields(payload: dict[str, Any]) -> tuple[str | None, str | None, float | None] | None:
    """(spent, limit, utilization) as display strings, or None when extra usage is off."""
    extra = payload.get("extra_usage")
    if isinstance(extra, dict):
        if not extra.get("is_enabled"):
            return None
        decimals, currency = extra.get("decimal_places"), extra.get("currency")
        return (
            _money(extra.get("used_credits"), decimals, currency),
            _money(extra.get("monthly_limit"), decimals, currency),
            _number(extra.get("utilization")),
        )
    spent = payload.get("spend")
    if isinstance(spent, dict) and spent.get("enabled") and isinstance(spent.get("used"), dict):
        used, cap = spent["used"], spent.get("limit")
        cap = cap if isinstance(cap, dict) else {}
        return (
            _money(used.get("amount_minor"), used.get("exponent"), used.get("currency")),
            _money(cap.get("amount_minor"), cap.get("exponent"), cap.get("currency")),
            _number(spent.get("percent")),
        )
    return None


_EXTRA_HEADING: Final = '<section aria-label="Extra usage"><h2>Extra usage</h2>'


def _extra_html(payload: dict[str, Any]) -> str:
    fields = _extra_fields(payload)
    if fields is None:
        return f"{_EXTRA_HEADING}<p>Extra usage is off.</p></section>"
    spent, cap, utilization = fields
    parts = [_EXTRA_HEADING]
    parts.append(f'<div class="extra-spent">{escape(spent or "—")} spent</div>')
    if cap:
        parts.append(f'<div class="extra-limit">{escape(cap)} monthly limit</div>')
    if utilization is not None:
        parts.append(_bar_html(_Bar("Extra usage", utilization, None), "Resets monthly"))
    parts.append("</section>")
    return "\n".join(parts)


def _usage_sections(payload: dict[str, Any], now: datetime) -> str:
    session = _window_bar("Current session", payload.get("five_hour")) or _first_limit(
        payload, "session", "Current session"
    )
    weekly = _window_bar("All models", payload.get("seven_day")) or _first_limit(
        payload, "weekly_all", "All models"
    )
    scoped = _scoped_bars(payload)
    if session is None and weekly is None and not scoped:
        return f"<p>{FREE_PLAN_TEXT}</p>\n{_extra_html(payload)}"
    parts = ["<section><h2>Plan usage limits</h2>"]
    if session is not None:
        parts.append(_bar_html(session, _resets_in(session.resets_at, now)))
    parts.append("<h3>Weekly limits</h3>")
    for bar in [weekly, *scoped]:
        if bar is not None:
            parts.append(_bar_html(bar, _resets_on(bar.resets_at)))
    parts.append("</section>")
    parts.append(_extra_html(payload))
    return "\n".join(parts)


_USAGE_SCRIPT: Final = """
// Like claude.ai's single-page app, the page asks the JSON API once it has loaded.
const main = document.querySelector("main");
async function refreshUsage() {
  try {
    const response = await fetch(main.dataset.usageUrl, {credentials: "same-origin"});
    await response.json();
    main.dataset.loaded = response.ok ? "true" : "error";
    if (response.ok) {
      document.getElementById("last-updated").textContent = "Last updated: just now";
    }
  } catch (err) { main.dataset.loaded = "error"; }
}
document.getElementById("refresh").addEventListener("click", () => location.reload());
refreshUsage();
"""


def usage_page(
    payload: Any, *, plan: str | None, org_uuid: str | None, org_name: str, now: datetime
) -> str:
    """The /settings/usage page for one organization's usage payload."""
    if isinstance(payload, dict) and org_uuid is not None:
        try:
            sections = _usage_sections(payload, now)
        except (TypeError, ValueError, AttributeError):
            sections = '<p role="alert">Couldn\'t load usage.</p>'
    else:
        sections = f"<p>{FREE_PLAN_TEXT}</p>"
    usage_url = f"/api/organizations/{org_uuid}/usage" if org_uuid else ""
    body = f"""<main data-usage-url="{escape(usage_url)}" data-loaded="false">
<h1>Usage</h1>
<div class="org-name">{escape(org_name)}</div>
{sections}
<div><span id="last-updated">Last updated: less than a minute ago</span>
<button type="button" id="refresh" aria-label="Refresh usage">Refresh</button></div>
</main>"""
    script = _USAGE_SCRIPT if org_uuid else ""
    return document("Settings - Claude", body, plan=plan, script=script)
