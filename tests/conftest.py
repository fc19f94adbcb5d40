"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import Generator, Iterable
import os
from pathlib import Path
import time
from unittest.mock import PropertyMock, patch
import uuid

from homeassistant.const import CONF_EMAIL
from homeassistant.core import HomeAssistant
import psutil
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.claude_usage.const import (
    CONF_BASE_URL,
    CONF_ORGANIZATION,
    CONF_SESSION_KEY,
    DOMAIN,
)
from tests.lookalike import CHAT_ORG_NAME, CHAT_ORG_UUID, DEMO_EMAIL, LookalikeServer

pytest_plugins = ["tests.lookalike.fixture"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


DEPRECATION_REPORTS = ("Detected that custom integration 'claude_usage'", "Detected code that")


def deprecation_reports(messages: Iterable[str]) -> list[str]:
    """Home Assistant's reports of a deprecated use, which it logs instead of warning."""
    return [message for message in messages if any(r in message for r in DEPRECATION_REPORTS)]


@pytest.fixture(autouse=True)
def fail_on_deprecation_reports(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail a test during which this integration (or the test) used a deprecated API.

    DeprecationWarnings are errors through pytest's filterwarnings; this catches the other kind.
    """
    yield
    messages = [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
    ]
    assert not deprecation_reports(messages)


LEFTOVER_MARKER = "CLAUDE_USAGE_TEST_PROCESS_MARKER"


def _marked_processes(marker: str) -> list[psutil.Process]:
    """Return the live processes (other than pytest) that carry the test's marker."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if (
                process.environ().get(LEFTOVER_MARKER) == marker
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def no_leftover_processes(monkeypatch: pytest.MonkeyPatch) -> Generator[None]:
    """Fail a test that leaves a process (a scraper, a Chromium) behind.

    Every process the test starts inherits a unique environment variable; Chromium included,
    which Playwright starts in a process group of its own and which outlives its parent.
    """
    marker = uuid.uuid4().hex
    monkeypatch.setenv(LEFTOVER_MARKER, marker)
    yield
    # Chromium's crash handler daemonizes and quits a moment after the browser dies: allow a
    # few seconds before calling anything left behind.
    deadline = time.monotonic() + 5
    while (leftover := _marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftover, f"processes left behind: {leftover}"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return snapshot assertion fixture with the Home Assistant extension."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable entities that are disabled by default (like core's fixture)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def mock_config_entry(lookalike: LookalikeServer, private_config_dir: Path) -> MockConfigEntry:
    """Return a config entry for the look-alike's personal organization."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=CHAT_ORG_NAME,
        unique_id=CHAT_ORG_UUID,
        data={
            CONF_SESSION_KEY: lookalike.session_key,
            CONF_ORGANIZATION: CHAT_ORG_UUID,
            CONF_BASE_URL: lookalike.url,
            CONF_EMAIL: DEMO_EMAIL,
        },
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration with the real scraper against the look-alike."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def private_config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Give Home Assistant a config folder of the test's own (scraper state lives there)."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    hass.config.config_dir = str(config_dir)
    return config_dir
