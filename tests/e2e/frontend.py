"""Driving Home Assistant's frontend with Playwright: onboarding, config flows, websocket calls.

Locators use roles and accessible names; Playwright pierces the frontend's shadow DOM. Where
Home Assistant's widgets have no useful accessible name, a CSS selector on a stable attribute
(an input's ``name``) is used instead.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Error, Locator, Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Only the local servers exist: any other host (map tiles, help links) fails at once.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
USER_NAME = "Test User"
USERNAME = "test"
PASSWORD = "e2e-password-1234"  # a throw-away instance on 127.0.0.1 only


def onboard(page: Page, url: str) -> None:
    """Create the owner account and accept every default until the first dashboard."""
    page.goto(url)
    page.get_by_role("button", name="Create my smart home").click()
    _fill_form(
        page,
        {
            "name": USER_NAME,
            "username": USERNAME,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    page.get_by_role("button", name="Create account").click()
    # Each step's own text first: "Next" buttons of consecutive steps replace each other.
    for step_text in ("Home location", "the country your home is in", "Help us help you"):
        expect(page.get_by_text(step_text)).to_be_visible()
        page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("All set!")).to_be_visible()
    page.get_by_role("button", name="Finish").click()
    page.wait_for_function(
        "name => document.querySelector('home-assistant')?.hass?.user?.name === name",
        arg=USER_NAME,
    )
    expect(page.get_by_text("Settings", exact=True)).to_be_visible()
    confirm_http_settings(page)


def confirm_http_settings(page: Page) -> None:
    """Keep the YAML ``http:`` settings, as a person does when Home Assistant asks.

    Since 2026.11, Home Assistant moves ``http:`` from YAML into its storage as a trial and asks
    to confirm it; unconfirmed, it reverts to port 8123 with a restart after five minutes.
    Older releases have no such trial (nor its websocket command).
    """
    try:
        http = call_ws(page, {"type": "http/config"})
    except Error:
        return
    if not http.get("pending"):
        return
    prompt = page.locator("dialog-http-pending-config")
    title = prompt.get_by_text("Confirm new HTTP server configuration")
    expect(title).to_be_visible()
    prompt.get_by_role("button", name="Confirm", exact=True).click()
    expect(title).to_be_hidden()
    assert not call_ws(page, {"type": "http/config"}).get("pending")


def _fill_form(page: Page, values: dict[str, str]) -> None:
    """Fill inputs by name until all of them hold their value.

    The form focuses its first field a moment after it renders; text typed meanwhile can land
    there instead of in the field being filled.
    """
    fields = {name: page.locator(f"input[name={name}]") for name in values}
    wrong = list(values)
    for _ in range(3):
        for name in wrong:
            fields[name].fill(values[name])
        wrong = [name for name, field in fields.items() if field.input_value() != values[name]]
        if not wrong:
            return
    raise AssertionError(f"could not fill {wrong}")


def call_ws(page: Page, message: dict[str, Any]) -> Any:
    """Send one websocket command through the frontend's own connection."""
    return page.evaluate(
        "message => document.querySelector('home-assistant').hass.callWS(message)", message
    )


def create_long_lived_token(page: Page) -> str:
    """A long-lived access token of the signed-in user, for the REST API."""
    page.wait_for_function("() => document.querySelector('home-assistant')?.hass?.connected")
    return str(
        call_ws(
            page,
            {"type": "auth/long_lived_access_token", "client_name": "e2e", "lifespan": 1},
        )
    )


def dialog(page: Page) -> Locator:
    """The config-flow dialog's element: its content is slotted, not inside the role element."""
    return page.locator("dialog-data-entry-flow")


def step_title(page: Page, title: str | re.Pattern[str]) -> Locator:
    """The config-flow dialog's title text.

    Found by text inside the dialog's element: the dialog's role and accessible name changed
    between frontend releases (an ``alertdialog`` named by its title up to 2026.2).
    """
    return dialog(page).get_by_text(title, exact=True).first


def expect_step(
    page: Page, title: str | re.Pattern[str], timeout_s: float | None = None
) -> Locator:
    """Wait until the config-flow dialog shows the step titled ``title``; returns the dialog."""
    expect(step_title(page, title)).to_be_visible(
        timeout=None if timeout_s is None else timeout_s * 1000
    )
    return dialog(page)


def start_config_flow(page: Page, url: str, integration: str) -> Locator:
    """Settings > Devices & services > Add integration > ``integration``; returns the dialog."""
    page.goto(f"{url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    # A labelled textbox up to the 2026.2 frontend, a placeholder only in 2026.11's.
    search = "Search for a brand name"
    page.get_by_role("textbox", name=search).or_(page.get_by_placeholder(search)).first.fill(
        integration
    )
    page.locator("ha-integration-list-item").filter(has_text=integration).click()
    return dialog(page)


def choose_menu_option(flow: Locator, option: str) -> None:
    """Click one entry of a menu step."""
    flow.get_by_text(option, exact=True).click()


def fill_field(flow: Locator, label: str, value: str) -> None:
    """Fill a form field by its label (Home Assistant appends ``*`` to required ones)."""
    flow.get_by_role("textbox", name=re.compile(rf"^{re.escape(label)}\*?$")).fill(value)


def submit(flow: Locator) -> None:
    """Press the form's Submit button."""
    flow.get_by_role("button", name="Submit").click()


DEVICE_CREATED = re.compile(r"Device created|Name and assign")
"""The step after a new entry: renamed "Name and assign" in the 2026.11 frontend."""


def finish_device_created(page: Page) -> None:
    """Close the step that follows a new entry, keeping the device's name."""
    # Not always inside the flow's own element: search the page.
    title = page.get_by_text(DEVICE_CREATED).first
    expect(title).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^(Skip and finish|Finish)$")).click()
    expect(title).to_be_hidden()


def entity_registry(page: Page, platform: str) -> list[dict[str, Any]]:
    """The entity registry entries of one integration."""
    entries = call_ws(page, {"type": "config/entity_registry/list"})
    return [entry for entry in entries if entry["platform"] == platform]


def config_entries(page: Page, domain: str) -> list[dict[str, Any]]:
    """The config entries of one integration."""
    return list(call_ws(page, {"type": "config_entries/get", "domain": domain}))
