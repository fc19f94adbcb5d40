"""Fixtures for the end-to-end tests: one Home Assistant, one look-alike, one browser per module.

The processes are module-scoped: starting Home Assistant and Chromium costs about 10 s, and the
steps build on each other (onboarding, then the entry, then reauth). The steps run in file
order; after a failure the remaining steps are skipped, since they would only time out.
Each failing step leaves a screenshot and the servers' logs in ``tests/artifacts/e2e/``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
import contextlib
import os
from pathlib import Path
import secrets
import shutil
import threading

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
import pytest
import pytest_socket

from tests.conftest import deprecation_reports

from .frontend import CHROMIUM, CHROMIUM_ARGS
from .harness import (
    MARKER_ENV,
    ROOT,
    TEST_BROWSER_ENV,
    E2ERun,
    HomeAssistant,
    Lookalike,
    kill_processes,
    leftover_processes,
    wait_until,
)

ARTIFACTS = ROOT / "tests" / "artifacts" / "e2e"
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS_ENV = "UPDATE_SCREENSHOTS"
EXPECT_TIMEOUT_MS = 20_000  # two shared cores; the frontend's default of 5 s is too tight
ACTION_TIMEOUT_MS = 30_000

_FAILED_STEP = pytest.StashKey[str]()
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's autouse fixture: Home Assistant runs in its own process here."""


@pytest.fixture(autouse=True)
def enable_event_loop_debug() -> None:
    """Override: there is no Home Assistant loop in this process to debug."""


@pytest.fixture(autouse=True)
def configure_event_loop() -> None:
    """Override (newer test plugins): no Home Assistant loop here to configure.

    The plugin's version is async, and an async fixture cannot start while Playwright's sync
    API holds this thread's loop.
    """


@pytest.fixture(autouse=True)
def verify_cleanup() -> Iterator[None]:
    """Override the plugin's check, which inspects the thread's current event loop.

    Playwright's sync API keeps its own loop marked running in this thread, and there is no
    in-process Home Assistant here. What still matters is checked: no step leaves a thread
    behind (the executor of Playwright's module-long loop, named "SyncWorker_<n>" under older
    Home Assistant loop policies and "asyncio_<n>" under newer ones, goes with that loop;
    ``e2e_run`` checks that it is gone).
    """
    threads_before = frozenset(threading.enumerate())
    yield
    left = [
        thread
        for thread in frozenset(threading.enumerate()) - threads_before
        if not thread.name.startswith(("waitpid-", "SyncWorker_", "asyncio_"))
    ]
    assert not left, f"threads left running: {left}"


@pytest.fixture(scope="module")
def e2e_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2ERun]:
    """A marker for this module's processes; at the end, none of them may be left running."""
    threads_before = frozenset(threading.enumerate())
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # a previous run's failures
    run = E2ERun(marker=secrets.token_hex(8), workdir=tmp_path_factory.mktemp("e2e"))
    yield run
    leftovers = leftover_processes(run.marker)
    kill_processes([pid for pid, _ in leftovers])
    assert not leftovers, f"processes left running after the end-to-end run: {leftovers}"
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: _new_threads(threads_before) == [], 5, "threads to end")
    assert _new_threads(threads_before) == [], "threads left running after the run"


def _new_threads(before: frozenset[threading.Thread]) -> list[threading.Thread]:
    return [
        thread
        for thread in frozenset(threading.enumerate()) - before
        if not thread.name.startswith("waitpid-")
    ]


@pytest.fixture(scope="module")
def lookalike(e2e_run: E2ERun) -> Iterator[Lookalike]:
    """The look-alike in its own process, with two chat organizations to choose from."""
    pytest_socket.enable_socket()  # module fixtures run before any test's socket_enabled
    server = Lookalike(
        marker=e2e_run.marker,
        log_path=e2e_run.workdir / "lookalike.log",
        options=("--organizations", "multi_chat"),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def home_assistant(e2e_run: E2ERun, lookalike: Lookalike) -> Iterator[HomeAssistant]:
    """``hass`` in its own process with a throw-away config dir; new entries use the look-alike."""
    pytest_socket.enable_socket()
    hass = HomeAssistant(
        config_dir=e2e_run.workdir / "config",
        marker=e2e_run.marker,
        base_url_for_new_entries=lookalike.url,
    )
    try:
        hass.start()
        yield hass
    finally:
        hass.stop()
    log = hass.log_path.read_text() if hass.log_path.exists() else ""
    reports = deprecation_reports(log.splitlines())
    assert not reports, f"Home Assistant reported deprecated uses: {reports}"
    assert "DeprecationWarning" not in log


@pytest.fixture(scope="module")
def playwright(e2e_run: E2ERun) -> Iterator[Playwright]:
    """Playwright's driver; it and the browsers it starts carry the run's marker."""
    marks = {MARKER_ENV: e2e_run.marker, TEST_BROWSER_ENV: "1"}
    os.environ.update(marks)
    try:
        manager = sync_playwright().start()
    finally:
        for name in marks:
            del os.environ[name]
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright, e2e_run: E2ERun) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=list(CHROMIUM_ARGS),
        env={**os.environ, MARKER_ENV: e2e_run.marker, TEST_BROWSER_ENV: "1"},
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def page(browser: Browser, home_assistant: HomeAssistant) -> Iterator[Page]:
    """One tab for all steps: the signed-in session carries over."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot_dir() -> Path | None:
    """Where to save the README's screenshots, or None unless UPDATE_SCREENSHOTS=1."""
    if os.environ.get(UPDATE_SCREENSHOTS_ENV) != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report where the step fixture can see it."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(autouse=True)
def e2e_step(
    request: pytest.FixtureRequest, socket_enabled: None, home_assistant: HomeAssistant
) -> Iterator[None]:
    """Skip after an earlier failed step; save a screenshot and the logs when this one fails."""
    module = request.node.parent
    assert module is not None
    if failed := module.stash.get(_FAILED_STEP, None):
        pytest.skip(f"an earlier step failed: {failed}")
    yield
    reports = request.node.stash.get(_REPORTS, {})
    if not any(report.failed for report in reports.values()):
        return
    module.stash[_FAILED_STEP] = request.node.name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name
    if "page" in request.fixturenames:
        page: Page = request.getfixturevalue("page")
        page.screenshot(path=ARTIFACTS / f"{name}.png")
    for log in (home_assistant.log_path, home_assistant.config_dir.parent / "lookalike.log"):
        if log.exists():
            shutil.copyfile(log, ARTIFACTS / f"{name}-{log.name}")
