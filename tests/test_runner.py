"""The runner against small scripts standing in for a misbehaving scraper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import logging
from pathlib import Path
import sys
import textwrap
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import psutil
import pytest

from custom_components.claude_usage import runner as runner_module
from custom_components.claude_usage.runner import (
    MAX_OUTPUT,
    RunnerError,
    ScraperError,
    ScraperRunner,
)
from custom_components.claude_usage.scraper.protocol import Backend, ErrorCode

KEY = "sk-ant-sid02-runner-secret-0123456789"

POLL_OK = {
    "status": "ok",
    "protocol": 1,
    "source": "http",
    "fetched_at": "2026-08-23T12:00:00+00:00",
    "organization": {"uuid": "org-1", "name": "Jane", "plan": "claude_max"},
    "windows": [
        {
            "key": "session",
            "kind": "session",
            "model": None,
            "utilization": 16,
            "remaining": 84.0,
            "resets_at": "2026-08-23T15:00:00+00:00",
        }
    ],
    "extra_usage": None,
}

pytestmark = pytest.mark.usefixtures("no_leftover_processes")

type MakeScraper = Callable[[str], Path]


@pytest.fixture
def fake_scraper(tmp_path: Path) -> MakeScraper:
    """Return a function that installs a stand-in scraper with the given body."""

    def make(body: str) -> Path:
        folder = tmp_path / "scraper"
        folder.mkdir(exist_ok=True)
        prelude = "import json, os, sys, time, subprocess\n"
        (folder / "__main__.py").write_text(prelude + textwrap.dedent(body))
        return folder

    return make


@pytest.fixture
def runner(hass: HomeAssistant, tmp_path: Path) -> ScraperRunner:
    """Return a runner with its own browser slot."""
    return ScraperRunner(
        hass,
        base_url="http://127.0.0.1:9",
        state_dir=tmp_path / "state",
        browser_slot=asyncio.Semaphore(1),
    )


def _printing(result: dict[str, object]) -> str:
    return f"sys.stdin.readline(); print(json.dumps({result!r}))\n"


async def _poll(runner: ScraperRunner, folder: Path, **kwargs: float) -> object:
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        return await runner.poll(KEY, "org-1", Backend.HTTP, **kwargs)


async def test_poll_reads_key_from_stdin(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """The key travels on stdin only, and a valid result becomes typed data."""
    folder = fake_scraper(
        f"""
        key = sys.stdin.readline().strip()
        assert key == {KEY!r}, key
        assert {KEY!r} not in " ".join(sys.argv) and {KEY!r} not in str(os.environ)
        assert sys.argv[1:4] == ["poll", "--base-url", "http://127.0.0.1:9"], sys.argv
        print(json.dumps({POLL_OK!r}))
        """
    )
    usage = await _poll(runner, folder)
    assert usage.windows["session"].utilization == 16.0
    assert usage.organization.plan == "claude_max"
    assert usage.session_key is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("sys.stdin.readline(); print('Traceback? no, just text')", RunnerError.INVALID_OUTPUT),
        ("sys.stdin.readline(); print('[1, 2]')", RunnerError.INVALID_OUTPUT),
        (
            "sys.stdin.readline(); sys.stdout.write(json.dumps({'status': 'ok', 'protocol': 1,"
            " 'source': 'http'})[:25]); sys.exit(0)",
            RunnerError.INVALID_OUTPUT,
        ),
        (
            "sys.stdin.readline(); print(json.dumps({'status': 'ok', 'protocol': 2}))",
            RunnerError.PROTOCOL_MISMATCH,
        ),
        (
            "sys.stdin.readline(); print(json.dumps({'status': 'ok'}))",
            RunnerError.PROTOCOL_MISMATCH,
        ),
        (
            "sys.stdin.readline(); print(json.dumps({'status': 'maybe', 'protocol': 1}))",
            RunnerError.INVALID_OUTPUT,
        ),
        (
            "sys.stdin.readline(); print(json.dumps({'status': 'ok', 'protocol': 1,"
            " 'source': 'http', 'windows': 'none'}))",
            RunnerError.INVALID_OUTPUT,
        ),
        (
            "sys.stdin.readline(); print(json.dumps({'status': 'error', 'protocol': 1}))",
            RunnerError.INVALID_OUTPUT,
        ),
        (
            "sys.stdin.readline(); sys.stdout.write('x' * (2 * 1024 * 1024)); sys.stdout.flush()"
            "; time.sleep(30)",
            RunnerError.OUTPUT_TOO_LARGE,
        ),
        ("sys.stdin.readline(); sys.exit(0)", RunnerError.CRASHED),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "truncated",
        "newer-protocol",
        "no-protocol",
        "unknown-status",
        "wrong-shape",
        "error-without-code",
        "huge-output",
        "no-output",
    ],
)
async def test_bad_output(
    runner: ScraperRunner,
    fake_scraper: MakeScraper,
    body: str,
    code: RunnerError,
) -> None:
    """Output that is not one valid result is a clear error, never a traceback."""
    with pytest.raises(ScraperError) as exc:
        await _poll(runner, fake_scraper(body))
    assert exc.value.code is code
    assert KEY not in str(exc.value)


async def test_huge_output_is_capped(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """At most MAX_OUTPUT bytes are kept, and the child is killed right away."""
    folder = fake_scraper(
        "sys.stdin.readline()\nwhile True: sys.stdout.write('y' * 65536); sys.stdout.flush()\n"
    )
    with pytest.raises(ScraperError) as exc:
        await _poll(runner, folder)
    assert exc.value.code is RunnerError.OUTPUT_TOO_LARGE
    assert str(MAX_OUTPUT) in exc.value.message


async def test_crash_logs_redacted_stderr(
    runner: ScraperRunner, fake_scraper: MakeScraper, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash names its exit status and logs the end of stderr without the key."""
    folder = fake_scraper(
        """
        key = sys.stdin.readline().strip()
        sys.stderr.write("x" * 10000 + "\\nTraceback: boom with " + key + " and sk-ant-other\\n")
        sys.exit(3)
        """
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(ScraperError) as exc:
        await _poll(runner, folder)
    assert exc.value.code is RunnerError.CRASHED
    assert "status 3" in exc.value.message
    assert "Traceback: boom with **REDACTED** and **REDACTED**" in caplog.text
    assert "x" * 5000 not in caplog.text
    assert KEY not in caplog.text
    assert "sk-ant-other" not in caplog.text


async def test_scraper_error_result(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """An error result keeps its code, message and Retry-After."""
    folder = fake_scraper(
        _printing(
            {
                "status": "error",
                "protocol": 1,
                "error": "rate_limited",
                "message": f"slow down {KEY}",
                "retry_after": 900,
            }
        )
    )
    with pytest.raises(ScraperError) as exc:
        await _poll(runner, folder)
    assert exc.value.code is ErrorCode.RATE_LIMITED
    assert exc.value.retry_after == 900
    assert exc.value.message == "slow down **REDACTED**"


async def test_unknown_error_code(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """An error code from a newer scraper is treated as internal."""
    folder = fake_scraper(
        _printing({"status": "error", "protocol": 1, "error": "solar_flare", "message": None})
    )
    with pytest.raises(ScraperError) as exc:
        await _poll(runner, folder)
    assert exc.value.code is ErrorCode.INTERNAL


async def test_missing_scraper(runner: ScraperRunner, tmp_path: Path) -> None:
    """A scraper folder that is not there is named as such."""
    with pytest.raises(ScraperError) as exc:
        await _poll(runner, tmp_path / "nowhere")
    assert exc.value.code is RunnerError.NOT_FOUND


async def test_interpreter_not_executable(
    runner: ScraperRunner, fake_scraper: MakeScraper, tmp_path: Path
) -> None:
    """An interpreter that cannot be executed is a clear error."""
    fake = tmp_path / "python"
    fake.write_text("not a program")
    with patch.object(sys, "executable", str(fake)), pytest.raises(ScraperError) as exc:
        await _poll(runner, fake_scraper(_printing(POLL_OK)))
    assert exc.value.code is RunnerError.NOT_FOUND


def _hang_body(pid_file: Path) -> str:
    """A scraper that starts a grandchild (like Chromium) and hangs."""
    return f"""
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        with open({str(pid_file)!r}, "w") as f:
            f.write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(60)
        """


def _pids(pid_file: Path) -> list[int]:
    return [int(pid) for pid in pid_file.read_text().split()]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def _all_gone(pids: list[int]) -> bool:
    """Whether every process has died, allowing the kernel time to deliver SIGKILL.

    killpg() returns before a busy machine has scheduled each member of the group
    to die, so a grandchild can still show as running for a moment.
    """
    for _ in range(100):
        if all(_gone(pid) for pid in pids):
            return True
        await asyncio.sleep(0.05)
    return False


async def _wait_for(pid_file: Path) -> None:
    for _ in range(200):
        if pid_file.exists() and len(pid_file.read_text().split()) == 2:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the stand-in scraper did not start")


async def test_timeout_kills_process_group(
    runner: ScraperRunner, fake_scraper: MakeScraper, tmp_path: Path
) -> None:
    """At the deadline the scraper and everything it started are killed."""
    pid_file = tmp_path / "pids"
    folder = fake_scraper(_hang_body(pid_file))
    with patch.object(runner_module, "DEADLINE_GRACE", 0.0), pytest.raises(ScraperError) as exc:
        await _poll(runner, folder, seconds=1.5)
    assert exc.value.code is ErrorCode.TIMEOUT
    assert await _all_gone(_pids(pid_file))


async def test_cancel_kills_process_group(
    runner: ScraperRunner, fake_scraper: MakeScraper, tmp_path: Path
) -> None:
    """Cancelling a poll (an unload mid-poll) leaves no process behind."""
    pid_file = tmp_path / "pids"
    task = asyncio.create_task(_poll(runner, fake_scraper(_hang_body(pid_file))))
    await _wait_for(pid_file)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _all_gone(_pids(pid_file))


async def test_cancel_does_not_wait_for_the_pipes(
    runner: ScraperRunner, fake_scraper: MakeScraper, tmp_path: Path
) -> None:
    """A cancelled poll ends even while a process it cannot reach still holds its stdout.

    A daemon that escaped the process tree (double fork, new session) keeps the pipe open;
    the readers are cancelled rather than awaited, so Home Assistant's stop is not held up.
    """
    pid_file = tmp_path / "daemon"
    folder = fake_scraper(
        f"""
        sys.stdin.readline()
        first = os.fork()
        if first == 0:
            os.setsid()
            if os.fork() == 0:
                with open({str(pid_file)!r}, "w") as f:
                    f.write(str(os.getpid()))
                time.sleep(60)
            os._exit(0)
        os.waitpid(first, 0)
        time.sleep(60)
        """
    )
    task = asyncio.create_task(_poll(runner, folder))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    daemon = int(pid_file.read_text())
    try:
        task.cancel()
        # Guards against a hang only: the old code waited here for the daemon's 60 s.
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)
    finally:
        psutil.Process(daemon).kill()
    assert await _all_gone([daemon])


async def test_auto_falls_back_to_browser(
    runner: ScraperRunner, fake_scraper: MakeScraper, tmp_path: Path
) -> None:
    """`auto` runs http first and the browser only after a challenge."""
    log = tmp_path / "backends"
    blocked = {"status": "error", "protocol": 1, "error": "blocked", "message": "challenge"}
    folder = fake_scraper(
        f"""
        sys.stdin.readline()
        backend = sys.argv[sys.argv.index("--backend") + 1]
        with open({str(log)!r}, "a") as f:
            f.write(backend + " ")
        result = dict({POLL_OK!r}, source=backend) if backend == "browser" else {blocked!r}
        print(json.dumps(result))
        """
    )
    with (
        patch.object(runner, "browser_problem", return_value=None),
        patch.object(runner_module, "SCRAPER_PATH", folder),
    ):
        usage = await runner.poll(KEY, "org-1", Backend.AUTO)
    assert usage.source is Backend.BROWSER
    assert log.read_text().split() == ["http", "browser"]

    log.unlink()
    with (
        patch.object(runner, "browser_problem", return_value="no playwright"),
        patch.object(runner_module, "SCRAPER_PATH", folder),
        pytest.raises(ScraperError),
    ):
        await runner.poll(KEY, "org-1", Backend.AUTO)
    assert log.read_text().split() == ["http"]


async def test_check(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """`check` lists the organizations and the account's email."""
    folder = fake_scraper(
        _printing(
            {
                "status": "ok",
                "protocol": 1,
                "source": "http",
                "account": {"email": "jane@example.com"},
                "organizations": [
                    {"uuid": "api", "name": "API", "capabilities": ["api"]},
                    {"uuid": "chat", "name": "Jane", "capabilities": ["chat", "claude_pro"]},
                ],
            }
        )
    )
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        check = await runner.check(KEY, Backend.HTTP)
    assert check.email == "jane@example.com"
    assert [org.uuid for org in check.chat_organizations] == ["chat"]


LOGIN_SCRIPT = """
args = sys.argv[1:]
assert args[0] == "login", args
print(json.dumps({"event": "code_required"}), flush=True)
line = sys.stdin.readline()
code = json.loads(line)["code"] if line else None
if code == "123456":
    print(json.dumps({"status": "ok", "protocol": 1, "session_key": "sk-ant-sid02-new",
                      "expires_at": None}))
else:
    print(json.dumps({"status": "error", "protocol": 1, "error": "login_failed",
                      "message": "wrong code"}))
    sys.exit(1)
"""


async def test_email_login(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """One child lives across the email and code steps."""
    folder = fake_scraper(LOGIN_SCRIPT)
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        login = runner.email_login("jane@example.com")
        await login.start()
        assert login.running
        result = await login.submit_code("123456")
    assert result.session_key == "sk-ant-sid02-new"
    assert not login.running


async def test_email_login_wrong_code(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """A wrong code ends the sign-in with login_failed."""
    with patch.object(runner_module, "SCRAPER_PATH", fake_scraper(LOGIN_SCRIPT)):
        login = runner.email_login("jane@example.com")
        await login.start()
        with pytest.raises(ScraperError) as exc:
            await login.submit_code("000000")
    assert exc.value.code is ErrorCode.LOGIN_FAILED


async def test_email_login_abandoned(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """Closing a sign-in that waits for its code kills it."""
    with patch.object(runner_module, "SCRAPER_PATH", fake_scraper(LOGIN_SCRIPT)):
        login = runner.email_login("jane@example.com")
        await login.start()
        await login.close()
        await login.close()
    assert not login.running


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            "print(json.dumps({'status': 'error', 'protocol': 1, 'error': 'blocked',"
            " 'message': 'challenge'}))",
            ErrorCode.BLOCKED,
        ),
        ("print(json.dumps({'event': 'something_else'}))", RunnerError.INVALID_OUTPUT),
        (
            "print(json.dumps({'status': 'ok', 'protocol': 1, 'session_key': 'k'}))",
            RunnerError.INVALID_OUTPUT,
        ),
        ("sys.exit(1)", RunnerError.CRASHED),
    ],
    ids=["error", "unexpected-event", "no-code-asked", "silent-exit"],
)
async def test_email_login_start_fails(
    runner: ScraperRunner, fake_scraper: MakeScraper, body: str, code: str
) -> None:
    """A sign-in that does not reach the code step fails clearly."""
    with patch.object(runner_module, "SCRAPER_PATH", fake_scraper(body)):
        login = runner.email_login("jane@example.com")
        with pytest.raises(ScraperError) as exc:
            await login.start()
    assert exc.value.code == code
    assert not login.running


async def test_headed_login(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """`login --headed` prints only its result."""
    folder = fake_scraper(
        """
        assert sys.argv[-1] == "--headed", sys.argv
        print(json.dumps({"status": "ok", "protocol": 1, "session_key": "sk-ant-sid02-w",
                          "expires_at": "2026-09-20T10:00:00+00:00"}))
        """
    )
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        result = await runner.login_headed()
    assert result.session_key == "sk-ant-sid02-w"
    assert result.expires_at is not None


async def test_headed_login_fails(runner: ScraperRunner, fake_scraper: MakeScraper) -> None:
    """A window sign-in that ends without success raises its error."""
    folder = fake_scraper(
        "print(json.dumps({'status': 'error', 'protocol': 1, 'error': 'login_failed',"
        " 'message': 'closed'}))\nsys.exit(1)\n"
    )
    with patch.object(runner_module, "SCRAPER_PATH", folder), pytest.raises(ScraperError) as exc:
        await runner.login_headed()
    assert exc.value.code is ErrorCode.LOGIN_FAILED


def test_redact() -> None:
    """Anything shaped like a session key is removed, not only the known one."""
    assert runner_module.redact("a sk-ant-sid01-Ab_c-9 b") == "a **REDACTED** b"
    assert runner_module.redact("key=secret", ("secret",)) == "key=**REDACTED**"
    assert json.dumps(runner_module.redact("")) == '""'


async def test_headed_login_after_progress_lines(
    runner: ScraperRunner, fake_scraper: MakeScraper
) -> None:
    """The result of a `login` is its last line, after any progress lines."""
    folder = fake_scraper(
        """
        print(json.dumps({"event": "window_opened"}))
        print(json.dumps({"status": "ok", "protocol": 1, "session_key": "sk-ant-sid02-p"}))
        """
    )
    with patch.object(runner_module, "SCRAPER_PATH", folder):
        result = await runner.login_headed()
    assert result.session_key == "sk-ant-sid02-p"


@pytest.mark.parametrize(
    "fetched_at", ["2026-08-23T12:00:00", "yesterday", 1787400000], ids=["naive", "text", "number"]
)
async def test_bad_timestamps(
    runner: ScraperRunner, fake_scraper: MakeScraper, fetched_at: object
) -> None:
    """Timestamps must be ISO 8601 with an offset, or the result is rejected."""
    folder = fake_scraper(_printing({**POLL_OK, "fetched_at": fetched_at}))
    with pytest.raises(ScraperError) as exc:
        await _poll(runner, folder)
    assert exc.value.code is RunnerError.INVALID_OUTPUT
