"""Runs the real scraper as a child process, exactly as the integration starts it."""

from __future__ import annotations

from dataclasses import dataclass
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

SCRAPER = Path(__file__).parent.parent / "custom_components" / "claude_usage" / "scraper"


@dataclass
class ScraperRun:
    """What one scraper process did."""

    returncode: int
    stdout: str
    stderr: str
    argv: list[str]

    @property
    def result(self) -> dict[str, Any]:
        """The one JSON object on stdout."""
        lines = self.stdout.splitlines()
        assert len(lines) == 1, f"expected one JSON line, got {self.stdout!r} / {self.stderr}"
        value = json.loads(lines[0])
        assert isinstance(value, dict)
        return value


def scraper_argv(*args: str) -> list[str]:
    """Return the command line the integration uses."""
    return [sys.executable, str(SCRAPER), *args]


def run_scraper(
    *args: str, stdin: str | None = "", timeout: float = 60, env: dict[str, str] | None = None
) -> ScraperRun:
    """Run the scraper to completion with `stdin` (the session key line) and return the run."""
    argv = scraper_argv(*args)
    completed = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    return ScraperRun(completed.returncode, completed.stdout, completed.stderr, argv)


MARKER_VARIABLE = "CLAUDE_USAGE_TEST_MARKER"


def marked_env(marker: str) -> dict[str, str]:
    """Return this environment plus a marker that every process the scraper starts inherits."""
    return {**os.environ, MARKER_VARIABLE: marker}


def processes_with_marker(marker: str) -> list[int]:
    """Return live processes (orphans included) that inherited `marker` in their environment."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z":
                continue
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
