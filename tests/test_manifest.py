"""The manifest and hacs.json as hassfest and HACS read them."""

from __future__ import annotations

import json
import os
from pathlib import Path
import re

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as HA_VERSION

ROOT = Path(__file__).parent.parent
MANIFEST = json.loads((ROOT / "custom_components/claude_usage/manifest.json").read_text())
LEGS = ("latest", "latest-hass", "minimum")
TEST_LEG_ENV = "CLAUDE_USAGE_TEST_LEG"
"""Set by scripts/test to the leg that runs: `latest` or `minimum`."""


def pinned(leg: str) -> list[str]:
    """The requirement lines of one leg's pinned set."""
    lines = (ROOT / "requirements" / f"{leg}.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_manifest_keys_in_hassfest_order() -> None:
    """domain, name, then the rest alphabetically, with the keys a custom integration needs."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert MANIFEST["domain"] == "claude_usage"
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["iot_class"] == "cloud_polling"
    assert MANIFEST["integration_type"] == "service"
    assert AwesomeVersion(MANIFEST["version"]).valid
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://")
    assert MANIFEST["codeowners"]


def test_requirements_install_on_home_assistant_os() -> None:
    """No Playwright (no musl wheel); curl_cffi pinned to what every leg runs with."""
    requirements = MANIFEST["requirements"]
    assert not any(req.lower().startswith("playwright") for req in requirements)
    for leg in LEGS:
        for requirement in requirements:
            assert requirement in pinned(leg), (requirement, leg)


def test_hacs_minimum_version() -> None:
    """hacs.json and the README declare exactly the Home Assistant the minimum leg installs."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == MANIFEST["name"]
    minimum = hacs["homeassistant"]
    assert AwesomeVersion(HA_VERSION) >= AwesomeVersion(minimum)
    if os.environ.get(TEST_LEG_ENV) == "minimum":
        assert minimum == HA_VERSION
    readme = (ROOT / "README.md").read_text()
    assert f"Home Assistant {minimum} or newer is required." in readme
    stated = set(re.findall(r"Home Assistant (20\d\d\.\d+\.\d+) or newer", readme))
    assert stated == {minimum}


def test_translations_are_literal() -> None:
    """Custom integrations get no build step: `[%key:...%]` references would show up raw."""
    folder = ROOT / "custom_components/claude_usage"
    strings = (folder / "strings.json").read_text()
    assert "[%key:" not in strings
    assert json.loads((folder / "translations/en.json").read_text()) == json.loads(strings)
