"""Real processes for the end-to-end tests: Home Assistant, the look-alike, and leftover checks.

Everything here is plain synchronous Python (``subprocess`` and ``urllib``), so the tests need
no thread and no event loop of their own. Each process is started in a session of its own and
carries ``MARKER_ENV`` in its environment; every descendant inherits it (the scraper, its
Chromium), which is how ``leftover_processes`` finds anything a run left behind.
"""

from __future__ import annotations

from collections.abc import Mapping
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Any
import urllib.error
import urllib.request

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
MARKER_ENV = "CLAUDE_USAGE_E2E_RUN"
TEST_BROWSER_ENV = "CLAUDE_USAGE_E2E_TEST_BROWSER"  # the test's own Playwright and Chromium
BASE_URL_ENV = "CLAUDE_USAGE_BASE_URL"
HASS_PYTHON_ENV = "CLAUDE_USAGE_HASS_PYTHON"
"""The interpreter whose ``homeassistant`` the real ``hass`` runs: scripts/test points it at the
leg's Home Assistant (the newest release on the latest leg); by default, this test's own."""

START_TIMEOUT = 120.0  # two busy cores: Home Assistant's first start takes 5 to 15 s
STOP_TIMEOUT = 30.0

# history: for the history graph of docs/dashboard.yaml (it brings the recorder along).
CONFIGURATION_YAML = """\
homeassistant:
http:
  server_host: {host}
  server_port: {port}
frontend:
history:
logger:
  default: warning
  logs:
    custom_components.claude_usage: debug
"""


def hass_python() -> str:
    """The Python that runs ``hass`` (``HASS_PYTHON_ENV``, else this interpreter)."""
    return os.environ.get(HASS_PYTHON_ENV) or sys.executable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    timeout: float = 30,
) -> Any:
    """One JSON request; raises ``urllib.error.HTTPError`` on a non-2xx answer."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"only the local test servers are called, not {url}")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError):
            if result := predicate():
                return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _stop(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process, give it ``timeout`` to exit, then SIGKILL its whole session."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout)


def _tied_to_us(command: list[str]) -> list[str]:
    """``command`` under ``setpriv --pdeathsig``: it gets SIGTERM if this process dies.

    The children lead sessions of their own, so without this a killed pytest (a CI timeout)
    would leave them running.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command


def _environment(marker: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, MARKER_ENV: marker, "PYTHONUNBUFFERED": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    if extra:
        env.update(extra)
    return env


@dataclass
class Lookalike:
    """The claude.ai look-alike as a separate process (``python -m tests.lookalike``)."""

    marker: str
    log_path: Path
    options: tuple[str, ...] = ()
    url: str = ""
    session_key: str = ""
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)
    _log: IO[str] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start it and read its base URL and session key from the first two stdout lines."""
        self._log = self.log_path.open("w")
        self._process = subprocess.Popen(
            _tied_to_us([sys.executable, "-m", "tests.lookalike", *self.options]),
            cwd=ROOT,
            env=_environment(self.marker),
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        self.session_key = self._process.stdout.readline().strip().removeprefix("Session key: ")
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the look-alike did not start; see {self.log_path}")

    @property
    def pid(self) -> int | None:
        """Its process id while it runs."""
        return None if self._process is None else self._process.pid

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self._process is not None:
            _stop(self._process, timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def control(self, method: str, name: str, body: Any = None) -> Any:
        """Call one of its ``/__test__/`` endpoints."""
        return http_json(method, f"{self.url}/__test__/{name}", body)

    def usage(self, org_uuid: str) -> dict[str, Any]:
        """The usage JSON it serves for ``org_uuid`` right now."""
        return dict(self.control("GET", f"usage?org_uuid={org_uuid}"))

    def login_code(self, email: str) -> str | None:
        """The one-time code it last 'mailed' to ``email``."""
        return self.control("GET", f"login_code?email={urllib.request.quote(email)}")["code"]

    def link_code(self, email: str) -> str | None:
        """The code that the link it mailed to ``email`` shows when opened on another device."""
        return self.control("GET", f"link_code?email={urllib.request.quote(email)}")["code"]

    def mailed_link(self, email: str) -> str | None:
        """The sign-in link it last mailed to ``email``."""
        return self.control("GET", f"login_link?email={urllib.request.quote(email)}")["link"]


@dataclass
class HomeAssistant:
    """``hass -c <config dir>`` as a separate process, loading the integration from the checkout.

    ``--skip-pip``: every requirement comes from the project's virtualenv, so a run installs
    nothing and needs no network (onboarding's own integrations, such as Met.no and Google
    Translate, cannot set up then; the tests do not need them).
    """

    config_dir: Path
    marker: str
    base_url_for_new_entries: str
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _console: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        """The ``hass`` process id while it runs."""
        return None if self._process is None else self._process.pid

    @property
    def url(self) -> str:
        """Where the frontend and the REST API answer."""
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Home Assistant's own log file."""
        return self.config_dir / "home-assistant.log"

    def start(self) -> None:
        """Write the configuration, start ``hass`` and wait until the onboarding API answers."""
        self.port = self.port or free_port()
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION_YAML.format(host=HOST, port=self.port)
        )
        link = self.config_dir / "custom_components"
        if not link.exists():
            link.symlink_to(ROOT / "custom_components", target_is_directory=True)
        self._console = (self.config_dir / "console.log").open("wb")
        self._process = subprocess.Popen(
            _tied_to_us(
                [hass_python(), "-m", "homeassistant", "-c", str(self.config_dir), "--skip-pip"]
            ),
            cwd=ROOT,
            env=_environment(self.marker, {BASE_URL_ENV: self.base_url_for_new_entries}),
            stdin=subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._ready, START_TIMEOUT, f"Home Assistant at {self.url}")

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(
                f"hass exited with status {self._process.returncode}; see {self.log_path}"
            )
        try:
            steps = http_json("GET", f"{self.url}/api/onboarding", timeout=5)
        except urllib.error.URLError:
            return False
        return isinstance(steps, list)

    def stop(self) -> None:
        """Stop Home Assistant as SIGTERM does (it ends its children), then make sure."""
        if self._process is not None:
            _stop(self._process)
            self._process = None
        if self._console is not None:
            self._console.close()
            self._console = None

    def rest(self, method: str, path: str, token: str, body: Any = None) -> Any:
        """Call the REST API with a bearer token."""
        return http_json(method, f"{self.url}{path}", body, token=token)

    def states(self, token: str) -> dict[str, dict[str, Any]]:
        """Every entity's state object from ``/api/states``, by entity id."""
        return {state["entity_id"]: state for state in self.rest("GET", "/api/states", token)}


@dataclass
class E2ERun:
    """What the steps of one test module share."""

    marker: str
    workdir: Path
    token: str = ""


def leftover_processes(marker: str, unless: str | None = None) -> list[tuple[int, str]]:
    """Live processes (pid, command line) whose environment carries this run's marker.

    ``unless``: leave out processes that have this variable set to ``1`` too.
    """
    needle = f"{MARKER_ENV}={marker}".encode()
    exclude = f"{unless}=1".encode() if unless else None
    found: list[tuple[int, str]] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            if needle not in environ or (exclude is not None and exclude in environ):
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found.append((int(proc.name), cmdline.strip()))
    return found


def kill_processes(pids: list[int]) -> None:
    """SIGKILL each pid that is still there."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
