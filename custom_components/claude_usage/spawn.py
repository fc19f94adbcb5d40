"""Start a child process from a worker thread, then talk to it from the event loop.

`asyncio.create_subprocess_exec` forks inside the event loop: with Home Assistant's large
process that one callback took 14 to 24 ms, over the 10 ms that asyncio's debug mode reports as
slow. Here the fork and exec run in the executor; the loop only attaches the pipes (asyncio
streams, as `create_subprocess_exec` gives) and learns of the exit from a pidfd, so it never
blocks and no thread waits for the child.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import os
import signal
import subprocess
import threading
from typing import IO


@dataclass
class _Started:
    """What the worker thread hands back: the child and the loop's ends of its pipes."""

    popen: subprocess.Popen[bytes]
    stdin: IO[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    pidfd: int | None

    def kill(self) -> None:
        """Kill the child's process group (it leads it); it cannot have started more yet."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def discard_soon(self) -> None:
        """Kill the child at once; reap it and close our ends in the background."""
        self.kill()
        # Reaping blocks: a thread named like asyncio's own child watchers does it.
        threading.Thread(target=self.discard, name=f"waitpid-{self.popen.pid}", daemon=True).start()

    def discard(self) -> None:
        """Kill the child's process group, reap it, close our ends (blocks)."""
        self.kill()
        self.popen.wait()
        for pipe in (self.stdin, self.stdout, self.stderr):
            pipe.close()  # a no-op for a pipe a transport closed already
        if self.pidfd is not None:
            os.close(self.pidfd)


class _Handoff:
    """Passes the started child from the worker thread to the loop, or back to no one.

    When the caller is cancelled while the fork runs, whichever side comes second kills the
    child: the worker if it finishes after the cancellation, the loop if before. Neither needs
    the loop or the executor to run again, which at shutdown they may not.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: _Started | None = None
        self._abandoned = False

    def deliver(self, started: _Started) -> bool:
        """Hand the child over; False when the caller is gone (the worker then discards it)."""
        with self._lock:
            self._started = started
            return not self._abandoned

    def abandon(self) -> None:
        """The caller is gone: kill the child now if it was already handed over."""
        with self._lock:
            self._abandoned = True
            started = self._started
        if started is not None:
            started.discard_soon()


def _start(argv: list[str], handoff: _Handoff) -> _Started | None:
    """Fork and exec `argv` in its own session with three pipes (runs in a worker thread)."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    try:
        popen = subprocess.Popen(
            argv, stdin=stdin_r, stdout=stdout_w, stderr=stderr_w, start_new_session=True
        )
    except BaseException:
        for fd in (stdin_w, stdout_r, stderr_r):
            os.close(fd)
        raise
    finally:
        for fd in (stdin_r, stdout_w, stderr_w):
            os.close(fd)
    pidfd: int | None = None
    with contextlib.suppress(AttributeError, OSError):  # no pidfd before Linux 5.3
        pidfd = os.pidfd_open(popen.pid)
    # Unbuffered file objects, which the loop's pipe transports take over (and close).
    started = _Started(
        popen,
        open(stdin_w, "wb", 0),  # noqa: SIM115
        open(stdout_r, "rb", 0),  # noqa: SIM115
        open(stderr_r, "rb", 0),  # noqa: SIM115
        pidfd,
    )
    if handoff.deliver(started):
        return started
    started.discard()
    return None


class SpawnedProcess(asyncio.subprocess.Process):
    """The child as `asyncio.subprocess.Process` offers it: pid, streams, returncode, wait."""

    def __init__(
        self,
        started: _Started,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        """Initialize from a started child and its connected streams; see `start_process`."""
        # The base class wants a subprocess transport that only a loop-side fork has.
        self._popen = started.popen
        self.pid = started.popen.pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        if started.pidfd is None:
            self._loop.run_in_executor(None, started.popen.wait).add_done_callback(
                lambda _: self._reaped()
            )
        else:
            self._loop.add_reader(started.pidfd, self._on_pidfd, started.pidfd)

    def _on_pidfd(self, pidfd: int) -> None:
        self._loop.remove_reader(pidfd)
        os.close(pidfd)
        self._popen.poll()  # the pidfd is readable once the child exited: this reaps at once
        self._reaped()

    def _reaped(self) -> None:
        if not self._exited.done() and self._popen.returncode is not None:
            self._exited.set_result(self._popen.returncode)

    @property
    def returncode(self) -> int | None:
        """Return the exit status once the child has been reaped, else None."""
        return self._popen.returncode

    async def wait(self) -> int:
        """Wait until the child has exited; a cancelled waiter leaves the watch in place."""
        return await asyncio.shield(self._exited)

    def send_signal(self, sig: int) -> None:
        """Signal the child (not its group); nothing happens once it has been reaped."""
        self._popen.send_signal(sig)

    def terminate(self) -> None:
        """Send SIGTERM to the child."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL to the child."""
        self.send_signal(signal.SIGKILL)


async def start_process(argv: list[str]) -> asyncio.subprocess.Process:
    """Start `argv` in a new session with piped stdin, stdout and stderr, off the event loop.

    Raises OSError as `create_subprocess_exec` does when the program cannot be started. When
    the caller is cancelled while the fork runs, the child is killed and reaped, never leaked.
    """
    loop = asyncio.get_running_loop()
    handoff = _Handoff()
    try:
        started = await asyncio.shield(loop.run_in_executor(None, _start, argv, handoff))
    except asyncio.CancelledError:
        handoff.abandon()
        raise
    assert started is not None  # None only once abandoned
    try:
        stdout, stderr = asyncio.StreamReader(), asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdout), started.stdout)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stderr), started.stderr)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), started.stdin
        )
    except BaseException:
        started.discard_soon()
        raise
    stdin = asyncio.StreamWriter(transport, protocol, None, loop)
    return SpawnedProcess(started, stdin, stdout, stderr)
