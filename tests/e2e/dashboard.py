"""docs/dashboard.yaml in a real Home Assistant: its entity ids made real, saved as a dashboard.

The file names entities as a person whose device is called "Claude" sees them
(`sensor.claude_session_usage`); here the device keeps the organization's name, so each id is
mapped by its key (the unique id's tail) to the entity that Home Assistant created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
import re
from typing import Any

from playwright.sync_api import Page
import yaml

from .frontend import call_ws
from .harness import ROOT, wait_until

DASHBOARD_FILE = ROOT / "docs" / "dashboard.yaml"
URL_PATH = "claude-usage"
README_ENTITY = re.compile(r"^(?P<domain>[a-z_]+)\.claude_(?P<key>[a-z0-9_]+)$")


def load() -> dict[str, Any]:
    """The dashboard as Home Assistant stores it."""
    config = yaml.safe_load(DASHBOARD_FILE.read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def referenced_keys(config: dict[str, Any]) -> set[str]:
    """The keys of every entity that the dashboard names."""
    return {match["key"] for text in _strings(config) if (match := README_ENTITY.match(text))}


def named_entities(node: Any) -> Iterator[tuple[str, str]]:
    """(key, name) of every card or row that names its entity."""
    if isinstance(node, list):
        for value in node:
            yield from named_entities(value)
    elif isinstance(node, dict):
        entity, name = node.get("entity"), node.get("name")
        match = README_ENTITY.match(entity) if isinstance(entity, str) else None
        if match and isinstance(name, str):
            yield match["key"], name
        for value in node.values():
            yield from named_entities(value)


def with_entity_ids(node: Any, entity_ids: dict[str, str], prefix: str) -> Any:
    """``node`` with each README entity id replaced by the real one.

    A key without an entity gets the id that Home Assistant would give it (``prefix`` + key),
    so its card shows the frontend's "not available" warning as it would for a person.
    """
    if isinstance(node, str):
        if match := README_ENTITY.match(node):
            key = match["key"]
            return entity_ids.get(key, f"{match['domain']}.{prefix}{key}")
        return node
    if isinstance(node, dict):
        return {name: with_entity_ids(value, entity_ids, prefix) for name, value in node.items()}
    if isinstance(node, list):
        return [with_entity_ids(value, entity_ids, prefix) for value in node]
    return node


def save(page: Page, config: dict[str, Any]) -> None:
    """Create the dashboard (once) and store ``config`` as its content."""
    dashboards = call_ws(page, {"type": "lovelace/dashboards/list"})
    if not any(board["url_path"] == URL_PATH for board in dashboards):
        call_ws(
            page,
            {
                "type": "lovelace/dashboards/create",
                "url_path": URL_PATH,
                "title": config.get("title", "Claude"),
                "icon": "mdi:gauge",
                "mode": "storage",
                "show_in_sidebar": True,
            },
        )
    call_ws(page, {"type": "lovelace/config/save", "url_path": URL_PATH, "config": config})


WEEK = timedelta(days=7)
SESSION = timedelta(hours=5)
# Session peaks of the made-up week, one per 5-hour window, repeating.
SESSION_PEAKS = (35.0, 62.0, 88.0, 54.0, 97.0, 41.0, 70.0)
PREVIOUS_WEEK = {"weekly_usage": 81.0, "weekly_sonnet_usage": 58.0}


def _active_hours(start: datetime, end: datetime) -> float:
    """Hours between ``start`` and ``end`` that fall in the day (08:00 to 23:00 UTC)."""
    total, moment = 0.0, start
    while moment < end:
        step = min(end, moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        if 8 <= moment.hour < 23:
            total += (step - moment).total_seconds() / 3600
        moment = step
    return total


def _climb(start: datetime, end: datetime, top: float) -> Callable[[datetime], float]:
    """Usage that climbs from 0 at ``start`` to ``top`` at ``end``, during the day only."""
    span = _active_hours(start, end) or 1.0
    return lambda moment: top * _active_hours(start, min(moment, end)) / span


def _week_curve(now: datetime, resets: datetime, current: float, previous: float) -> Any:
    start = resets - WEEK
    this_week, last_week = _climb(start, now, current), _climb(start - WEEK, start, previous)
    return lambda moment: this_week(moment) if moment >= start else last_week(moment)


def _session_curve(now: datetime, resets: datetime, current: float) -> Any:
    def value(moment: datetime) -> float:
        windows_back = int((resets - moment) / SESSION)  # 0: the current window
        end = resets - windows_back * SESSION
        if windows_back == 0:
            return _climb(end - SESSION, now, current)(moment)
        peak = SESSION_PEAKS[windows_back % len(SESSION_PEAKS)]
        return _climb(end - SESSION, end, peak)(moment)

    return value


def seed_week(page: Page, entity_ids: dict[str, str]) -> None:
    """Import a made-up week of hourly statistics for the history graph's usage sensors.

    Only for the README's screenshot: the run itself lasts a minute, and the history graph
    shows long-term statistics where it has no history. The week ends at today's real values.
    """
    states = {state["entity_id"]: state["state"] for state in call_ws(page, {"type": "get_states"})}
    now = datetime.now(UTC)
    session_resets = datetime.fromisoformat(states[entity_ids["session_resets"]])
    weekly_resets = datetime.fromisoformat(states[entity_ids["weekly_resets"]])
    curves = {
        "session_usage": _session_curve(
            now, session_resets, float(states[entity_ids["session_usage"]])
        ),
        **{
            key: _week_curve(now, weekly_resets, float(states[entity_ids[key]]), previous)
            for key, previous in PREVIOUS_WEEK.items()
        },
    }
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    hours = [this_hour - timedelta(hours=back) for back in range(168, 0, -1)]
    for key, curve in curves.items():
        stats = []
        for hour in hours:
            low, high = curve(hour), curve(hour + timedelta(minutes=59))
            mean = curve(hour + timedelta(minutes=30))
            stats.append({"start": hour.isoformat(), "mean": mean, "min": low, "max": high})
        call_ws(
            page,
            {
                "type": "recorder/import_statistics",
                "metadata": {
                    "mean_type": 1,  # arithmetic, as the recorder keeps it for these sensors
                    "has_sum": False,
                    "name": None,
                    "source": "recorder",
                    "statistic_id": entity_ids[key],
                    "unit_class": None,
                    "unit_of_measurement": "%",
                },
                "stats": stats,
            },
        )
    # The recorder imports in its own thread: wait until every hour of every sensor is in.
    query = {
        "type": "recorder/statistics_during_period",
        "start_time": hours[0].isoformat(),
        "end_time": (hours[-1] + timedelta(hours=1)).isoformat(),
        "statistic_ids": [entity_ids[key] for key in curves],
        "period": "hour",
        "types": ["mean"],
    }
    wait_until(
        lambda: (
            [len(series) for series in call_ws(page, query).values()] == [len(hours)] * len(curves)
        ),
        30,
        "the made-up week's statistics",
    )


def shrink_png(path: Path) -> None:
    """Quantize to 256 colours: a screenshot of flat UI keeps its look at a third of the size."""
    from PIL import Image

    with Image.open(path) as image:
        assert len(image.getcolors(1 << 24) or ()) > 16, f"{path.name} came out blank"
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True
        )
