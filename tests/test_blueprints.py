"""The automation blueprints, loaded by Home Assistant and run over the integration's entities.

Each test links the repository's blueprints folder into the test's config folder, sets up the
integration against the look-alike, creates an automation from a blueprint through the
``automation`` integration, and moves the look-alike's usage poll by poll.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import parse_qs

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.components.blueprint import models as blueprint_models
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from tests.lookalike import FAIL_SERVER_ERROR, USAGE_2026, LookalikeServer, usage_payload

pytestmark = pytest.mark.usefixtures("no_leftover_processes")

ROOT = Path(__file__).resolve().parents[1]
BLUEPRINTS = ROOT / "blueprints" / "automation" / "claude_usage"
THRESHOLD = "claude_usage/usage_threshold.yaml"
AFTER_RESET = "claude_usage/after_reset.yaml"
PREFIX = "sensor.jane_s_organization"
SESSION = f"{PREFIX}_session_usage"
WEEKLY = f"{PREFIX}_weekly_usage"
SESSION_RESETS = f"{PREFIX}_session_resets"
SESSION_RESET_EVENT = "event.jane_s_organization_session_reset"
ALERT = "claude_usage_test_alert"
# What the test's actions record: every variable the blueprint promises its actions.
ALERT_ACTION = [
    {
        "event": ALERT,
        "event_data": {
            "sensor": "{{ sensor }}",
            "name": "{{ name }}",
            "usage": "{{ usage }}",
            "threshold": "{{ threshold }}",
            "resets_at": "{{ resets_at }}",
            "message": "{{ message }}",
        },
    }
]
ACTIONS = {"alert_actions": ALERT_ACTION}


@pytest.fixture
def blueprint_config_dir(private_config_dir: Path) -> Path:
    """The test's config folder with the repository's blueprints where Home Assistant looks."""
    folder = private_config_dir / "blueprints" / "automation" / "claude_usage"
    folder.mkdir(parents=True)
    # File by file: the loader's glob does not descend into a linked folder.
    for blueprint in BLUEPRINTS.glob("*.yaml"):
        (folder / blueprint.name).symlink_to(blueprint)
    return private_config_dir


def _usage(session: float, weekly: float = 42.0, **resets: datetime) -> dict[str, Any]:
    """The 2026 payload with the session's and the week's utilization set."""
    payload = usage_payload(USAGE_2026, dt_util.utcnow())
    payload["five_hour"]["utilization"] = session
    payload["seven_day"]["utilization"] = weekly
    if "session_resets" in resets:
        payload["five_hour"]["resets_at"] = resets["session_resets"].isoformat()
    return payload


async def _setup_integration(
    hass: HomeAssistant, entry: MockConfigEntry, lookalike: LookalikeServer, session: float
) -> None:
    lookalike.set_usage(_usage(session))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


async def _automation(hass: HomeAssistant, path: str, inputs: dict[str, Any]) -> None:
    config = {AUTOMATION_DOMAIN: [{"use_blueprint": {"path": path, "input": inputs}}]}
    assert await async_setup_component(hass, AUTOMATION_DOMAIN, config)
    await hass.async_block_till_done()
    [state] = hass.states.async_all(AUTOMATION_DOMAIN)
    assert state.state == "on", state.attributes


def _runs(events: list[Event]) -> list[tuple[str, float]]:
    """Which sensor each run was for, and at which threshold; forgets them."""
    runs = [(event.data["sensor"], float(event.data["threshold"])) for event in events]
    events.clear()
    return runs


def test_readme_import_buttons() -> None:
    """The README has a blueprint-import button for each blueprint, to its raw file on GitHub."""
    repository = json.loads((ROOT / "custom_components/claude_usage/manifest.json").read_text())[
        "documentation"
    ]
    owner_and_name = repository.removeprefix("https://github.com/")
    readme = (ROOT / "README.md").read_text()
    links = re.findall(
        r"\(https://my\.home-assistant\.io/redirect/blueprint_import/\?([^)]+)\)", readme
    )
    imported = [parse_qs(query)["blueprint_url"][0] for query in links]
    raw = f"https://raw.githubusercontent.com/{owner_and_name}/main"
    assert imported == [f"{raw}/blueprints/automation/{path}" for path in (THRESHOLD, AFTER_RESET)]
    for path in (THRESHOLD, AFTER_RESET):
        text = (BLUEPRINTS.parent / path).read_text()
        assert f"  source_url: {repository}/blob/main/blueprints/automation/{path}\n" in text


async def test_blueprints_validate(hass: HomeAssistant, blueprint_config_dir: Path) -> None:
    """Home Assistant's blueprint loader accepts every blueprint in the folder."""
    assert await async_setup_component(hass, AUTOMATION_DOMAIN, {})
    domain_blueprints: blueprint_models.DomainBlueprints = hass.data["blueprint"][AUTOMATION_DOMAIN]
    loaded = await domain_blueprints.async_get_blueprints()
    ours = {path: value for path, value in loaded.items() if path.startswith("claude_usage/")}
    assert set(ours) == {f"claude_usage/{file.name}" for file in BLUEPRINTS.glob("*.yaml")}
    assert set(ours) == {THRESHOLD, AFTER_RESET}
    for path, blueprint in ours.items():
        assert isinstance(blueprint, blueprint_models.Blueprint), (path, blueprint)
        assert blueprint.metadata["source_url"].endswith(f"/blueprints/automation/{path}")


@pytest.mark.usefixtures("blueprint_config_dir")
async def test_threshold_alert_once_per_crossing(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """Each crossing runs the actions once, at the highest threshold passed; nothing else does."""
    await _setup_integration(hass, mock_config_entry, lookalike, session=70.0)
    await _automation(hass, THRESHOLD, {"usage_sensors": [SESSION, WEEKLY]} | ACTIONS)
    alerts = async_capture_events(hass, ALERT)

    lookalike.set_usage(_usage(75.0))  # at the threshold counts
    await _poll(hass, mock_config_entry)
    assert _runs(alerts) == [(SESSION, 75.0)]

    for session in (80.0, 80.0, 89.0):  # above 75, below 90: no new crossing
        lookalike.set_usage(_usage(session))
        await _poll(hass, mock_config_entry)
    assert _runs(alerts) == []

    lookalike.set_usage(_usage(96.0))  # past 90 and 95 at once: one run, for 95
    await _poll(hass, mock_config_entry)
    assert _runs(alerts) == [(SESSION, 95.0)]

    # A failed poll makes the sensors unavailable; the value that comes back is no crossing.
    lookalike.failure = FAIL_SERVER_ERROR
    await _poll(hass, mock_config_entry)
    assert hass.states.get(SESSION).state == STATE_UNAVAILABLE
    lookalike.failure = None
    lookalike.set_usage(_usage(99.0))
    await _poll(hass, mock_config_entry)
    assert hass.states.get(SESSION).state == "99.0"
    assert _runs(alerts) == []

    # The session resets and climbs again; the week crosses 75 in the same poll.
    lookalike.set_usage(_usage(3.0))
    await _poll(hass, mock_config_entry)
    lookalike.set_usage(_usage(91.0, weekly=77.0))
    await _poll(hass, mock_config_entry)
    assert sorted(_runs(alerts)) == [(SESSION, 90.0), (WEEKLY, 75.0)]


@pytest.mark.usefixtures("blueprint_config_dir")
async def test_threshold_alert_message(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, lookalike: LookalikeServer
) -> None:
    """The variables and the ready message name the sensor, the usage and the reset time."""
    await _setup_integration(hass, mock_config_entry, lookalike, session=10.0)
    inputs = {"usage_sensors": [SESSION], "first_threshold": 50, "third_threshold": 0} | ACTIONS
    await _automation(hass, THRESHOLD, inputs)
    alerts = async_capture_events(hass, ALERT)

    # A window's reset time is known before its usage climbs: it comes with its first poll.
    resets = dt_util.utcnow().replace(microsecond=0) + timedelta(hours=2, minutes=30)
    lookalike.set_usage(_usage(12.0, session_resets=resets))
    await _poll(hass, mock_config_entry)
    lookalike.set_usage(_usage(52.4, session_resets=resets))
    await _poll(hass, mock_config_entry)
    [alert] = alerts
    assert alert.data["sensor"] == SESSION
    assert alert.data["name"] == "Jane's Organization Session usage"
    assert alert.data["usage"] == pytest.approx(52.4)
    assert alert.data["threshold"] == pytest.approx(50.0)
    assert dt_util.parse_datetime(alert.data["resets_at"]) == resets
    assert hass.states.get(SESSION_RESETS).state == resets.isoformat()

    local = dt_util.as_local(resets)
    day = "today" if local.date() == dt_util.now().date() else "tomorrow"
    message = alert.data["message"]
    assert message.startswith(
        f"Jane's Organization Session usage is at 52 % (threshold 50 %); "
        f"it resets {day} at {local:%H:%M}, in "
    ), message
    assert re.fullmatch(r".*, in 2 h (29|30) min\.", message), message

    # The third threshold is off (0); the second still works.
    lookalike.set_usage(_usage(99.0))
    await _poll(hass, mock_config_entry)
    assert [event.data["threshold"] for event in alerts[1:]] == [pytest.approx(90.0)]


@pytest.mark.usefixtures("blueprint_config_dir")
async def test_threshold_alert_default_action(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Without chosen actions, a crossing leaves a notification in Home Assistant's sidebar."""
    # Loaded in every Home Assistant from the start, not in the test harness's.
    assert await async_setup_component(hass, "persistent_notification", {})
    await _setup_integration(hass, mock_config_entry, lookalike, session=80.0)
    await _automation(hass, THRESHOLD, {"usage_sensors": [SESSION]})

    lookalike.set_usage(_usage(92.0))
    await _poll(hass, mock_config_entry)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "persistent_notification/get"})
    response = await client.receive_json()
    assert response["success"], response
    [notification] = response["result"]
    assert notification["title"] == "Claude usage"
    assert notification["message"].startswith(
        "Jane's Organization Session usage is at 92 % (threshold 90 %); it resets "
    )


def _has_reset_events() -> bool:
    return (ROOT / "custom_components" / "claude_usage" / "event.py").exists()


@pytest.mark.skipif(
    not _has_reset_events(),
    reason="the <window>_reset event entities (issue 10, part 2) are not on this branch yet",
)
@pytest.mark.usefixtures("blueprint_config_dir")
async def test_after_reset_runs_once_per_reset(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """A real reset of the session runs the actions once; a reload or a plain poll does not."""
    freezer.move_to(dt_util.utcnow())
    resets = dt_util.utcnow().replace(microsecond=0) + timedelta(hours=1)
    lookalike.set_usage(_usage(97.0, session_resets=resets))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(SESSION_RESET_EVENT) is not None
    action = [
        {
            "event": ALERT,
            "event_data": {
                "sensor": "{{ event_entity }}",
                "window": "{{ window }}",
                "utilization": "{{ utilization }}",
                "message": "{{ message }}",
            },
        }
    ]
    await _automation(
        hass, AFTER_RESET, {"reset_events": [SESSION_RESET_EVENT], "reset_actions": action}
    )
    alerts = async_capture_events(hass, ALERT)

    lookalike.set_usage(_usage(98.0, session_resets=resets))
    await _poll(hass, mock_config_entry)
    assert alerts == []

    lookalike.set_usage(_usage(2.0, session_resets=resets + timedelta(hours=5)))
    await _poll(hass, mock_config_entry)
    [alert] = alerts
    assert alert.data["sensor"] == SESSION_RESET_EVENT
    assert alert.data["window"] == "session"
    assert alert.data["utilization"] == pytest.approx(98.0)
    assert alert.data["message"].endswith("a fresh window is available (it ended at 98 %).")

    freezer.tick(timedelta(minutes=5))
    await _poll(hass, mock_config_entry)
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert len(alerts) == 1

    # The next window begins while the entry is not loaded: told once when it is back.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=5))
    lookalike.set_usage(_usage(1.0, session_resets=resets + timedelta(hours=10)))
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert [alert.data["utilization"] for alert in alerts[1:]] == [pytest.approx(2.0)]
    await _poll(hass, mock_config_entry)
    assert len(alerts) == 2
