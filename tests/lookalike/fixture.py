"""pytest plugin: the ``lookalike`` fixture.

Loaded by ``tests/conftest.py`` with ``pytest_plugins = ["tests.lookalike.fixture"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import LookalikeServer, running_lookalike

__all__ = ["lookalike", "running_lookalike"]


@pytest.fixture
def lookalike(socket_enabled: None) -> Iterator[LookalikeServer]:
    """A running claude.ai look-alike at ``lookalike.url`` (http://127.0.0.1:<port>).

    It runs in its own thread and event loop, so synchronous tests (scraper subprocesses) and
    Home Assistant's async tests can both use it; teardown joins the thread, which
    ``verify_cleanup`` checks. Depends on ``socket_enabled`` because pytest-socket blocks
    sockets by default.
    """
    with running_lookalike() as server:
        yield server
