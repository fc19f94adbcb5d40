"""Trouble a person should see: repair issues, the bad_response sample, log lines read once."""

from __future__ import annotations

from datetime import datetime, timedelta
import json
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.claude_usage.const import DOMAIN
from custom_components.claude_usage.issues import (
    ISSUE_BAD_RESPONSE,
    ISSUE_RATE_LIMITED,
    issue_id,
)
from custom_components.claude_usage.scraper.redact import redact_sample
from tests.lookalike import (
    API_ORG_NAME,
    CHAT_ORG_NAME,
    DEMO_EMAIL,
    FAIL_MALFORMED,
    FAIL_RATE_LIMITED,
    FAIL_SESSION_EXPIRED,
    FAIL_WRONG_SHAPE,
    LookalikeServer,
)

pytestmark = pytest.mark.usefixtures("no_leftover_processes", "private_config_dir")

SAMPLE_LINE = "Claude.ai sent an answer this integration does not understand"


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(seconds)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def _issue(registry: ir.IssueRegistry, kind: str, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return registry.async_get_issue(DOMAIN, issue_id(kind, entry.entry_id))


async def test_rate_limited_for_more_than_an_hour(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Short 429s in a row raise the repair once they add up to an hour; a success removes it."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = 120
    for delay in (301, 301, 601, 1201):  # 0, 300, 900, 2100 s into the run of 429s
        await _advance(hass, freezer, delay)
        assert _issue(issue_registry, ISSUE_RATE_LIMITED, init_integration) is None
    await _advance(hass, freezer, 2401)  # 4500 s
    issue = _issue(issue_registry, ISSUE_RATE_LIMITED, init_integration)
    assert issue is not None
    assert issue.translation_placeholders["title"] == init_integration.title
    assert issue.translation_placeholders["since"]

    lookalike.failure = None
    await _advance(hass, freezer, 3601)
    assert init_integration.runtime_data.last_update_success
    assert _issue(issue_registry, ISSUE_RATE_LIMITED, init_integration) is None


async def test_long_retry_after_raises_the_repair_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A Retry-After of two hours is two hours without data: the person learns it now."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = 7200
    await _advance(hass, freezer, 301)
    issue = _issue(issue_registry, ISSUE_RATE_LIMITED, init_integration)
    assert issue is not None
    assert issue.translation_placeholders["until"] != "-"


@pytest.mark.parametrize("failure", [FAIL_MALFORMED, FAIL_WRONG_SHAPE])
async def test_bad_response_sample_and_repair(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    """Three answers in a row that do not parse: one redacted sample, then a repair issue."""
    coordinator = init_integration.runtime_data
    lookalike.failure = failure
    for _ in range(2):
        await coordinator.async_refresh()
        assert _issue(issue_registry, ISSUE_BAD_RESPONSE, init_integration) is None
    await coordinator.async_refresh()
    assert _issue(issue_registry, ISSUE_BAD_RESPONSE, init_integration) is not None

    samples = [r.getMessage() for r in caplog.records if SAMPLE_LINE in r.getMessage()]
    assert len(samples) == 1  # once per run of bad responses
    sample = samples[0].split("redacted, are: ", 1)[1]
    assert 0 < len(sample) <= 500
    assert "uuid" in sample  # it is the body: the organizations list
    for secret in (lookalike.session_key, "sk-ant-", DEMO_EMAIL, CHAT_ORG_NAME, API_ORG_NAME):
        assert secret not in samples[0]

    lookalike.failure = None
    await coordinator.async_refresh()
    assert _issue(issue_registry, ISSUE_BAD_RESPONSE, init_integration) is None
    lookalike.failure = failure
    await coordinator.async_refresh()
    assert sum(SAMPLE_LINE in r.getMessage() for r in caplog.records) == 2  # a new run


def test_sample_redaction() -> None:
    """Keys, sessionKey cookies, email addresses and names leave the sample; it is cut at 500."""
    body = json.dumps(
        {
            "name": "Acme Research",
            "full_name": "Jane Doe",
            "email_address": "jane@example.com",
            "note": "Cookie: sessionKey=abc123; lang=en sk-ant-sid02-XYZW1234 secret-value",
            "display": "Acme \u2019Research\u2019",
        }
    )
    sample = redact_sample(body, ("secret-value",), ("Acme \u2019Research\u2019",))
    for leaked in ("Acme", "Jane", "example.com", "abc123", "sk-ant-", "secret-value"):
        assert leaked not in sample
    assert "lang=en" in sample
    assert len(redact_sample("x" * 2000)) == 500


async def test_each_failure_logged_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expired session is one record, one sentence, not the same words twice."""
    caplog.set_level(logging.INFO)
    coordinator = init_integration.runtime_data
    caplog.clear()
    lookalike.failure = FAIL_SESSION_EXPIRED
    await coordinator.async_refresh()
    records = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.endswith(DOMAIN)]
    assert len(records) == 1, [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert message.count("rejected the session key") == 1
    assert records[0].levelno == logging.ERROR


async def test_request_health_in_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    lookalike: LookalikeServer,
) -> None:
    """During a 7200 s backoff diagnostics show it, and when the next poll goes out."""
    lookalike.failure = FAIL_RATE_LIMITED
    lookalike.retry_after = 7200
    await _advance(hass, freezer, 301)
    coordinator = init_integration.runtime_data
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    health = diagnostics["request_health"]
    assert health["polls_since_start"] == 2
    assert health["failures_by_code"] == {"rate_limited": 1}
    assert health["served_by_http"] == 1
    assert health["served_by_browser"] == 0
    assert health["last_error"] == "rate_limited"
    assert health["last_error_at"] is not None
    # The frozen clock makes every duration 0 here; test_diagnostics sees real ones.
    assert health["slowest_poll_seconds"] >= health["median_poll_seconds"] >= 0
    assert health["backoff"]["retry_after"] == 7200
    assert health["backoff"]["failures"] == 1
    assert health["next_scheduled_poll"] == coordinator.next_poll.isoformat()
    next_poll = datetime.fromisoformat(health["next_scheduled_poll"])
    wait_until = datetime.fromisoformat(health["backoff"]["wait_until"])
    assert timedelta() <= next_poll - wait_until <= timedelta(seconds=1)
    assert next_poll - dt_util.utcnow() >= timedelta(seconds=7200)
    assert diagnostics["coordinator"]["update_interval"] >= 7200
    text = json.dumps(diagnostics)
    for secret in (lookalike.session_key, "sk-ant-", DEMO_EMAIL, CHAT_ORG_NAME):
        assert secret not in text
