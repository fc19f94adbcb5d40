"""Child processes started off the event loop, as the runner starts the scraper."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import signal
import sys
import uuid

import pytest

from custom_components.claude_usage.spawn import start_process
from tests.scraper_process import MARKER_VARIABLE, processes_with_marker

ECHO = [
    sys.executable,
    "-c",
    "import sys; line = sys.stdin.readline(); print(line.upper(), end=''); "
    "print('to stderr', file=sys.stderr); sys.exit(3)",
]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    assert stream is not None
    return await stream.read()


async def test_pipes_exit_status_and_session() -> None:
    """stdin in, stdout and stderr out, the exit status, the child leads its own session."""
    proc = await start_process(ECHO)
    assert os.getsid(proc.pid) == proc.pid
    assert proc.stdin is not None
    proc.stdin.write(b"hello\n")
    await proc.stdin.drain()
    proc.stdin.close()
    stdout, stderr = await asyncio.gather(_read_all(proc.stdout), _read_all(proc.stderr))
    assert await proc.wait() == 3
    assert proc.returncode == 3
    assert stdout == b"HELLO\n"
    assert stderr == b"to stderr\n"


async def test_missing_program_is_oserror(tmp_path: Path) -> None:
    """A program that does not exist fails like create_subprocess_exec: OSError."""
    with pytest.raises(FileNotFoundError):
        await start_process([str(tmp_path / "no-such-program")])


async def test_kill_and_a_cancelled_waiter() -> None:
    """A cancelled wait() leaves the exit watch in place; kill ends the child."""
    proc = await start_process(SLEEPER)
    waiter = asyncio.create_task(proc.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert proc.returncode is None
    proc.kill()
    assert await proc.wait() == -signal.SIGKILL
    await asyncio.gather(_read_all(proc.stdout), _read_all(proc.stderr))
    proc.kill()  # a reaped child: nothing happens


async def test_cancelled_while_starting_leaves_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller cancelled during the fork does not leak the child it was starting."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER_VARIABLE, marker)
    starting = asyncio.create_task(start_process(SLEEPER))
    await asyncio.sleep(0)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    # The fork may still be running in its thread: wait until the child has been seen and
    # is gone, or for a second in which it never showed up.
    seen, loop = False, asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        if processes_with_marker(marker):
            seen = True
        elif seen or loop.time() > deadline - 9:
            break
        await asyncio.sleep(0.02)
    assert processes_with_marker(marker) == []


async def test_no_descriptors_left_behind() -> None:
    """Every pipe and pidfd is closed once the child is done."""

    async def run_one() -> None:
        proc = await start_process(ECHO)
        assert proc.stdin is not None
        proc.stdin.write(b"x\n")
        proc.stdin.close()
        await asyncio.gather(_read_all(proc.stdout), _read_all(proc.stderr))
        await proc.wait()

    await run_one()  # the loop's own lazily made objects (selector, executor) come first
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(10):
        await run_one()
    await asyncio.sleep(0)  # transports close their pipes in a callback
    assert len(os.listdir("/proc/self/fd")) == before
