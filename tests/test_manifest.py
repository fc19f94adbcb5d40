"""The manifest and hacs.json as hassfest and HACS read them."""

from __future__ import annotations

import json
from pathlib import Path
import tomllib

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as HA_VERSION

ROOT = Path(__file__).parent.parent
MANIFEST = json.loads((ROOT / "custom_components/claude_usage/manifest.json").read_text())


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
    """No Playwright (no musl wheel); curl_cffi pinned to what the tests run with."""
    requirements = MANIFEST["requirements"]
    assert not any(req.lower().startswith("playwright") for req in requirements)
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    for requirement in requirements:
        assert requirement in dev


def test_hacs_minimum_version() -> None:
    """hacs.json names the integration and a minimum HA version the tests satisfy."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == MANIFEST["name"]
    assert AwesomeVersion(HA_VERSION) >= AwesomeVersion(hacs["homeassistant"])
    # UpdateFailed(retry_after=...) arrived in 2025.12.
    assert AwesomeVersion(hacs["homeassistant"]) >= AwesomeVersion("2025.12.0")


def test_translations_are_literal() -> None:
    """Custom integrations get no build step: `[%key:...%]` references would show up raw."""
    folder = ROOT / "custom_components/claude_usage"
    strings = (folder / "strings.json").read_text()
    assert "[%key:" not in strings
    assert json.loads((folder / "translations/en.json").read_text()) == json.loads(strings)
