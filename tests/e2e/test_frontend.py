"""A person sets up Claude Usage through Home Assistant's own UI, in a real browser.

One real ``hass`` process and one look-alike process (two chat organizations) serve the whole
module; the steps run in order and build on each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
import re
import secrets
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect
import pytest

from tests.lookalike import CHAT_ORG_NAME, CHAT_ORG_UUID, DEMO_EMAIL, TEAM_ORG_NAME, TEAM_ORG_UUID

from . import dashboard
from .frontend import (
    choose_menu_option,
    config_entries,
    create_long_lived_token,
    entity_registry,
    expect_step,
    fill_field,
    finish_device_created,
    onboard,
    start_config_flow,
    submit,
)
from .harness import (
    TEST_BROWSER_ENV,
    E2ERun,
    HomeAssistant,
    Lookalike,
    leftover_processes,
    wait_until,
)

pytestmark = pytest.mark.e2e

DOMAIN = "claude_usage"
INTEGRATION = "Claude Usage"
SIGN_IN_TIMEOUT = 90  # the email path starts headless Chromium inside Home Assistant's scraper
POLL_TIMEOUT = 60


def _entity_ids(page: Page, org_uuid: str) -> dict[str, str]:
    """Entity ids of one organization's entities, by key (unique id ``<org>_<key>``)."""
    prefix = f"{org_uuid}_"
    return {
        entry["unique_id"].removeprefix(prefix): entry["entity_id"]
        for entry in entity_registry(page, DOMAIN)
        if entry["unique_id"].startswith(prefix)
    }


def _expected_states(usage: dict[str, Any]) -> dict[str, float]:
    """What the sensors must show for a usage payload that the look-alike served."""
    session = float(usage["five_hour"]["utilization"])
    weekly = float(usage["seven_day"]["utilization"])
    extra = usage["extra_usage"]
    scale = 10 ** extra.get("decimal_places", 2)
    expected = {
        "session_usage": session,
        "session_remaining": max(0.0, 100 - session),
        "weekly_usage": weekly,
        "weekly_remaining": max(0.0, 100 - weekly),
        "extra_usage_spent": extra["used_credits"] / scale,
        "extra_usage_limit": extra["monthly_limit"] / scale,
    }
    if usage.get("seven_day_sonnet"):
        expected["weekly_sonnet_usage"] = float(usage["seven_day_sonnet"]["utilization"])
    return expected


def _assert_states_match(
    states: dict[str, dict[str, Any]], entity_ids: dict[str, str], usage: dict[str, Any]
) -> None:
    for key, value in _expected_states(usage).items():
        state = states[entity_ids[key]]["state"]
        assert float(state) == pytest.approx(value), f"{key}: {state} != {value}"
    resets = datetime.fromisoformat(states[entity_ids["session_resets"]]["state"])
    served = datetime.fromisoformat(usage["five_hour"]["resets_at"])
    assert abs(resets - served) < timedelta(seconds=1)  # shown to the second


def _ui_value(page: Page, card: str, name: str) -> str:
    """The state text of one row of a device page card ("Sensors", "Controls", ...)."""
    rows = page.locator("ha-card").filter(has=page.get_by_role("heading", name=card, exact=True))
    row = rows.locator("hui-generic-entity-row").filter(has_text=name)
    expect(row).to_have_count(1)
    return (row.text_content() or "").strip()


def _assert_ui_shows(ui_text: str, state: str) -> None:
    """The UI's formatted text ("16%", "$3.47") shows the state at the precision it displays."""
    match = re.search(r"-?\d[\d,]*(?:\.(\d+))?", ui_text)
    assert match, f"no number in {ui_text!r}"
    decimals = len(match.group(1) or "")
    shown = float(match.group(0).replace(",", ""))
    assert shown == pytest.approx(round(float(state), decimals)), f"{ui_text!r} != {state}"


def _open_device_page(page: Page, url: str, device_name: str) -> None:
    """Settings > Devices & services > Claude Usage > its one service (device)."""
    page.goto(f"{url}/config/integrations/integration/{DOMAIN}")
    page.get_by_role("link", name="1 service").click()  # the only device opens at once
    expect(page.get_by_role("heading", name="Sensors")).to_be_visible()
    expect(page.get_by_text(device_name).first).to_be_visible()


def _scraper_processes(
    e2e_run: E2ERun, home_assistant: HomeAssistant, lookalike: Lookalike
) -> list[tuple[int, str]]:
    """This run's processes other than hass, the look-alike and the test's own browser."""
    return [
        (pid, command)
        for pid, command in leftover_processes(e2e_run.marker, unless=TEST_BROWSER_ENV)
        if pid not in (home_assistant.pid, lookalike.pid)
    ]


def test_onboarding(page: Page, home_assistant: HomeAssistant, e2e_run: E2ERun) -> None:
    """Create the owner account and accept the defaults; the REST API then takes a token."""
    onboard(page, home_assistant.url)
    e2e_run.token = create_long_lived_token(page)
    assert home_assistant.rest("GET", "/api/", e2e_run.token) == {"message": "API running."}


def test_add_with_session_key(
    page: Page, home_assistant: HomeAssistant, lookalike: Lookalike
) -> None:
    """Add integration > Claude Usage > paste the key > pick one of two organizations."""
    start_config_flow(page, home_assistant.url, INTEGRATION)
    flow = expect_step(page, "Sign in to Claude")
    choose_menu_option(flow, "Paste a session key")
    flow = expect_step(page, "Paste a session key")
    fill_field(flow, "Session key", lookalike.session_key)
    submit(flow)

    flow = expect_step(page, "Choose the organization")
    flow.get_by_role("radio", name=re.compile(rf"^{re.escape(CHAT_ORG_NAME)}")).check()
    submit(flow)
    finish_device_created(page)

    entries = config_entries(page, DOMAIN)
    assert [(entry["title"], entry["state"]) for entry in entries] == [(CHAT_ORG_NAME, "loaded")]


def test_sensors_match_lookalike(
    page: Page,
    home_assistant: HomeAssistant,
    lookalike: Lookalike,
    e2e_run: E2ERun,
    screenshot_dir: Path | None,
) -> None:
    """The device page and /api/states show what the look-alike served."""
    usage = lookalike.usage(CHAT_ORG_UUID)
    entity_ids = _entity_ids(page, CHAT_ORG_UUID)
    states = home_assistant.states(e2e_run.token)
    _assert_states_match(states, entity_ids, usage)
    assert states[entity_ids["plan"]]["state"] == "max"
    # Pace, forecast, reset events and the session's expiry are there from the first poll.
    session = float(usage["five_hour"]["utilization"])
    assert float(states[entity_ids["session_projected"]]["state"]) >= session
    assert states[entity_ids["limit_forecast"]]["state"] in ("on", "off")
    for key in ("weekly_projected", "limit_expected_at", "session_expires"):
        assert key in entity_ids
    for key in ("session_reset", "weekly_reset"):
        assert states[entity_ids[key]]["attributes"]["event_types"] == ["reset"]

    _open_device_page(page, home_assistant.url, CHAT_ORG_NAME)
    for key, name in (
        ("session_usage", "Session usage"),
        ("session_remaining", "Session remaining"),
        ("weekly_usage", "Weekly usage"),
        ("weekly_sonnet_usage", "Weekly Sonnet usage"),
        ("extra_usage_spent", "Extra usage spent"),
        ("extra_usage_limit", "Extra usage limit"),
    ):
        _assert_ui_shows(_ui_value(page, "Sensors", name), states[entity_ids[key]]["state"])
    assert "Max" in _ui_value(page, "Diagnostic", "Plan")  # translated, not `max`

    if screenshot_dir is not None:
        _save_device_screenshot(page, screenshot_dir / "device.png")


def test_dashboard(page: Page, home_assistant: HomeAssistant, screenshot_dir: Path | None) -> None:
    """docs/dashboard.yaml, saved as a dashboard: every card renders its entity's state."""
    entity_ids = _entity_ids(page, CHAT_ORG_UUID)
    config = dashboard.load()
    keys = dashboard.referenced_keys(config)
    assert not (missing := keys - entity_ids.keys()), f"no such entities: {sorted(missing)}"
    prefix = entity_ids["session_usage"].removeprefix("sensor.").removesuffix("session_usage")
    dashboard.save(page, dashboard.with_entity_ids(config, entity_ids, prefix))

    page.goto(f"{home_assistant.url}/{dashboard.URL_PATH}/usage")
    view = page.locator("hui-sections-view")
    expect(view.locator("hui-gauge-card ha-gauge")).to_have_count(3)
    expect(view.locator("hui-history-graph-card state-history-charts")).to_have_count(1)
    for _key, name in dashboard.named_entities(config):
        expect(view.get_by_text(name, exact=True).first).to_be_visible()
    expect(view.get_by_text("Entity not found")).to_have_count(0)

    if screenshot_dir is not None:
        dashboard.seed_week(page, entity_ids)
        _save_dashboard_screenshot(page, screenshot_dir / "dashboard.png")


def _save_dashboard_screenshot(page: Page, path: Path) -> None:
    """The dashboard's view, wide enough for its three sections side by side.

    With reduced motion the charts draw at once (the history graph otherwise sweeps in from
    the left for half a second, which a screenshot catches half-way).
    """
    page.set_viewport_size({"width": 1600, "height": 900})
    page.emulate_media(reduced_motion="reduce")
    try:
        page.reload()
        view = page.locator("hui-sections-view")
        expect(view.locator("hui-history-graph-card state-history-charts")).to_be_visible()
        boxes = [box for card in view.locator("ha-card").all() if (box := card.bounding_box())]
        view_box = view.bounding_box()
        assert boxes
        assert view_box
        bottom = max(box["y"] + box["height"] for box in boxes) + 32  # the view's own margin
        clip = {**view_box, "height": bottom - view_box["y"]}
        page.screenshot(path=path, clip=clip, animations="disabled")  # the needles, at rest
    finally:
        page.emulate_media(reduced_motion="no-preference")
        page.set_viewport_size({"width": 1280, "height": 900})
    dashboard.shrink_png(path)


def test_reauth_after_session_expired(
    page: Page, home_assistant: HomeAssistant, lookalike: Lookalike, e2e_run: E2ERun
) -> None:
    """An expired session raises a notice in Settings; signing in again through it recovers."""
    entity_ids = _entity_ids(page, CHAT_ORG_UUID)
    lookalike.control("POST", "expire_sessions")

    _open_device_page(page, home_assistant.url, CHAT_ORG_NAME)
    page.locator("ha-card").filter(has=page.get_by_role("heading", name="Controls")).get_by_role(
        "button", name="Press"
    ).click()

    notice = page.get_by_text(f"Authentication expired for {CHAT_ORG_NAME}")
    page.goto(f"{home_assistant.url}/config/dashboard")
    expect(notice).to_be_visible(timeout=POLL_TIMEOUT * 1000)
    session_usage = entity_ids["session_usage"]
    assert home_assistant.states(e2e_run.token)[session_usage]["state"] == "unavailable"

    new_key = f"sk-ant-sid02-e2e-{secrets.token_urlsafe(32)}AA"
    lookalike.control("POST", "session_keys", {"session_key": new_key})
    notice.click()
    flow = expect_step(page, "Sign in to Claude again")
    choose_menu_option(flow, "Paste a session key")
    flow = expect_step(page, "Paste a session key")
    fill_field(flow, "Session key", new_key)
    submit(flow)
    flow = expect_step(page, INTEGRATION)
    expect(flow.get_by_text("Re-authentication was successful")).to_be_visible()
    flow.get_by_role("button", name="Close").last.click()
    expect(notice).to_have_count(0)

    wait_until(
        lambda: home_assistant.states(e2e_run.token)[session_usage]["state"] != "unavailable",
        POLL_TIMEOUT,
        "the sensors to recover after reauth",
    )
    _assert_states_match(
        home_assistant.states(e2e_run.token), entity_ids, lookalike.usage(CHAT_ORG_UUID)
    )


def test_email_code_sign_in(
    page: Page, home_assistant: HomeAssistant, lookalike: Lookalike, e2e_run: E2ERun
) -> None:
    """Sign in with email as claude.ai works now: a mailed link first, the code field after
    "Enter verification code"; the code is the one the link's page shows. Adds the other org."""
    assert lookalike.control("GET", "state")["login_variant"] == "link_first"
    flow = _start_email_sign_in(page, home_assistant)
    code = wait_until(lambda: lookalike.link_code(DEMO_EMAIL), POLL_TIMEOUT, "the link's code")
    fill_field(flow, "Code", code)
    submit(flow)
    _finish_with_team_org(page, home_assistant, lookalike, e2e_run)


def test_email_link_opened_on_another_device(
    page: Page,
    browser: Browser,
    home_assistant: HomeAssistant,
    lookalike: Lookalike,
    e2e_run: E2ERun,
) -> None:
    """The mailed link, opened in another browser (a phone), does not sign that browser in: it
    shows a code, which typed into Home Assistant finishes the sign-in there."""
    [team] = [entry for entry in config_entries(page, DOMAIN) if entry["title"] == TEAM_ORG_NAME]
    # Removed first, so that signing in again can add it back.
    path = f"/api/config/config_entries/entry/{team['entry_id']}"
    home_assistant.rest("DELETE", path, e2e_run.token)
    flow = _start_email_sign_in(page, home_assistant)
    link = wait_until(lambda: lookalike.mailed_link(DEMO_EMAIL), POLL_TIMEOUT, "the mailed link")

    phone = browser.new_context(locale="en-US")
    try:
        phone_page = phone.new_page()
        phone_page.goto(link)
        heading = phone_page.get_by_role("heading", name="Use verification code to continue")
        expect(heading).to_be_visible()
        expect(phone_page.get_by_text("where you first tried to sign in")).to_be_visible()
        code = phone_page.get_by_test_id("verification-code").inner_text().strip()
        assert re.fullmatch(r"\d{6}", code)
        assert not [c for c in phone.cookies() if c["name"] == "sessionKey"]
    finally:
        phone.close()

    fill_field(flow, "Code", code)
    submit(flow)
    _finish_with_team_org(page, home_assistant, lookalike, e2e_run)


def _start_email_sign_in(page: Page, home_assistant: HomeAssistant) -> Locator:
    """Add integration > Claude Usage > Sign in with email, up to the code step."""
    start_config_flow(page, home_assistant.url, INTEGRATION)
    flow = expect_step(page, "Sign in to Claude")
    choose_menu_option(flow, "Sign in with email")
    flow = expect_step(page, "Sign in with email")
    fill_field(flow, "Email", DEMO_EMAIL)
    submit(flow)
    flow = expect_step(page, "Enter the code", SIGN_IN_TIMEOUT)
    # The step says where the code comes from: the mail, or the page the mailed link opens.
    expect(flow.get_by_text(re.compile(r"open the mailed link on any device"))).to_be_visible()
    return flow


def _finish_with_team_org(
    page: Page, home_assistant: HomeAssistant, lookalike: Lookalike, e2e_run: E2ERun
) -> None:
    """Pick the Team organization, check both entries load, and that no scraper is left."""
    flow = expect_step(page, "Choose the organization", SIGN_IN_TIMEOUT)
    flow.get_by_role("radio", name=re.compile(rf"^{re.escape(TEAM_ORG_NAME)}")).check()
    submit(flow)
    finish_device_created(page)

    entries = {entry["title"]: entry["state"] for entry in config_entries(page, DOMAIN)}
    assert entries == {CHAT_ORG_NAME: "loaded", TEAM_ORG_NAME: "loaded"}
    _assert_states_match(
        home_assistant.states(e2e_run.token),
        _entity_ids(page, TEAM_ORG_UUID),
        lookalike.usage(TEAM_ORG_UUID),
    )
    # The sign-in's scraper and its Chromium end with the flow.
    try:
        wait_until(
            lambda: not _scraper_processes(e2e_run, home_assistant, lookalike),
            POLL_TIMEOUT,
            "the sign-in scraper to exit",
        )
    except TimeoutError:
        pytest.fail(f"still running: {_scraper_processes(e2e_run, home_assistant, lookalike)}")


def _save_device_screenshot(page: Page, path: Path) -> None:
    """The device page with its sensors, as the README shows it."""
    page.set_viewport_size({"width": 1100, "height": 1250})
    try:
        expect(page.get_by_role("heading", name="Diagnostic")).to_be_visible()
        # The two columns of cards; the rest of the width is empty at this size.
        page.screenshot(path=path, clip={"x": 0, "y": 0, "width": 830, "height": 1250})
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    dashboard.shrink_png(path)
