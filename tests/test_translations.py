"""The translations: complete, with the placeholders of strings.json, and used by Home Assistant."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.claude_usage.const import DOMAIN
from tests.lookalike import CHAT_ORG_NAME, CHAT_ORG_UUID, USAGE_2026, LookalikeServer

FOLDER = Path(__file__).parents[1] / "custom_components" / "claude_usage"
STRINGS = json.loads((FOLDER / "strings.json").read_text(encoding="utf-8"))
LANGUAGES = sorted(
    path.stem for path in (FOLDER / "translations").glob("*.json") if path.stem != "en"
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _flat(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _load(language: str) -> dict[str, str]:
    text = (FOLDER / "translations" / f"{language}.json").read_text(encoding="utf-8")
    return dict(_flat(json.loads(text)))


def test_languages() -> None:
    """German, French, Dutch and Spanish besides English."""
    assert {"de", "es", "fr", "nl"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_and_placeholders(language: str) -> None:
    """Every string of strings.json, nothing else, each with exactly its placeholders."""
    source = dict(_flat(STRINGS))
    translated = _load(language)
    missing = sorted(source.keys() - translated.keys())
    extra = sorted(translated.keys() - source.keys())
    wrong_placeholders = {
        key: {
            "strings.json": sorted(set(PLACEHOLDER.findall(source[key]))),
            language: sorted(set(PLACEHOLDER.findall(translated[key]))),
        }
        for key in sorted(source.keys() & translated.keys())
        if set(PLACEHOLDER.findall(source[key])) != set(PLACEHOLDER.findall(translated[key]))
    }
    empty = sorted(key for key, text in translated.items() if not text.strip())
    problems = {
        f"missing in translations/{language}.json": missing,
        f"in translations/{language}.json but not in strings.json": extra,
        "placeholders differ": wrong_placeholders,
        "empty": empty,
    }
    if any(problems.values()):
        found = {what: keys for what, keys in problems.items() if keys}
        pytest.fail(json.dumps(found, indent=2, ensure_ascii=False), pytrace=False)
    assert all("[%key:" not in text for text in translated.values())


@pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")
async def test_home_assistant_names_entities_in_german(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    lookalike: LookalikeServer,
    entity_registry: er.EntityRegistry,
) -> None:
    """With Home Assistant set to German, the entities carry the German names."""
    hass.config.language = "de"
    lookalike.usage_shape = USAGE_2026
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    german = _load("de")
    expected = {
        "session_usage": german["entity.sensor.session_usage.name"],
        "session_resets": german["entity.sensor.session_resets.name"],
        "weekly_usage": german["entity.sensor.weekly_usage.name"],
        "weekly_sonnet_usage": german["entity.sensor.weekly_model_usage.name"].format(
            model="Sonnet"
        ),
    }
    for key, name in expected.items():
        entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{CHAT_ORG_UUID}_{key}")
        assert entity_id is not None, key
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.attributes["friendly_name"] == f"{CHAT_ORG_NAME} {name}"
