"""One scraper child process: started in its own process group, drained, and killed whole.

Whatever ends a run (its end, the deadline, a cancellation) the whole process group and every
descendant is killed, so no Chromium outlives the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any, Final

from .scraper.processes import process_tree
from .scraper.redact import redact
from .spawn import start_process

MAX_OUTPUT: Final = 1024 * 1024
"""Bytes of stdout read at most; a poll result is a few kilobytes."""
STDERR_TAIL: Final = 4096
"""Bytes of stderr kept for the log when a run fails."""
_CHUNK: Final = 65536


def _discard_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def spawn(argv: list[str]) -> asyncio.subprocess.Process:
    """Start the scraper with pipes, as the leader of a new process group (off the loop)."""
    return await start_process(argv)


class Child:
    """One scraper process in its own process group, with its pipes drained in the background."""

    def __init__(self, proc: asyncio.subprocess.Process, secrets: tuple[str, ...]) -> None:
        self._proc = proc
        self._secrets = secrets
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.overflow = False
        self._killer: asyncio.Task[None] | None = None
        self._readers = asyncio.gather(self._read_stdout(), self._read_stderr())

    @classmethod
    async def start(
        cls, argv: list[str], secrets: tuple[str, ...], *, stdin: bytes | None
    ) -> Child:
        """Start the scraper; `stdin` is written and closed, None keeps stdin open.

        Raises OSError when the interpreter cannot be started.
        """
        child = cls(await spawn(argv), secrets)
        if stdin is not None:
            try:
                await child.write(stdin, close=True)
            except BaseException:
                await child.close()
                raise
        return child

    async def _read_stdout(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        pending = b""
        while chunk := await stream.read(_CHUNK):
            if self.overflow:
                continue  # keep draining, or the process transport never closes
            if len(self._stdout) + len(chunk) > MAX_OUTPUT:
                self.overflow = True
                self._killer = asyncio.create_task(self.terminate())
                continue
            self._stdout += chunk
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._lines.put_nowait(line)
        if pending and not self.overflow:
            self._lines.put_nowait(pending)
        self._lines.put_nowait(None)

    async def _read_stderr(self) -> None:
        stream = self._proc.stderr
        assert stream is not None
        while chunk := await stream.read(_CHUNK):
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL]

    @property
    def returncode(self) -> int | None:
        """Return the exit status, or None while the process runs."""
        return self._proc.returncode

    @property
    def stdout(self) -> bytes:
        """Return what the child printed (at most MAX_OUTPUT bytes)."""
        return bytes(self._stdout)

    def stderr_tail(self) -> str:
        """Return the end of the child's stderr, with session keys removed."""
        return redact(self._stderr.decode("utf-8", "replace"), self._secrets).strip()

    async def write(self, data: bytes, *, close: bool = False) -> None:
        """Write to the child's stdin; a child that already exited is not an error here."""
        stdin = self._proc.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        if close:
            stdin.close()

    async def next_line(self) -> bytes | None:
        """Return the next non-empty stdout line, or None at the end of output."""
        while (line := await self._lines.get()) is not None:
            if line.strip():
                return line
        self._lines.put_nowait(None)
        return None

    async def wait(self) -> int:
        """Wait until the child has exited and its output is read completely."""
        # Shielded: a cancelled caller must not cancel the readers, or the pipes would never
        # be drained and the process never reaped.
        await asyncio.shield(self._readers)
        return await self._proc.wait()

    async def terminate(self) -> None:
        """Kill the scraper and everything it started, including Chromium."""
        if self._proc.returncode is None:
            await asyncio.to_thread(_kill_tree, self._proc.pid)
        else:
            # Stragglers left in the group by a scraper that exited on its own.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill whatever is left of the child and reap it.

        In a cancelled task the output no longer matters: the readers are cancelled instead of
        awaited, so that a stop of Home Assistant ends the poll at once.
        """
        await self.terminate()
        if self._killer is not None:
            await self._killer
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        if (task := asyncio.current_task()) is not None and task.cancelling():
            self._readers.cancel()
            # A reader may have failed first (a reset pipe); that is not worth a log line now.
            self._readers.add_done_callback(_discard_outcome)
            # Killed with SIGKILL just now: the exit is immediate, and reaping needs no pipe.
            await self._proc.wait()
            return
        await self.wait()


def _kill_tree(pid: int) -> None:
    """Kill a scraper's process group and every descendant (runs in a worker thread).

    The group alone is not enough: Playwright starts Chromium as the leader of a process
    group of its own. The scraper's group is stopped first so nothing new starts meanwhile.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGSTOP)
    for process in process_tree(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(process, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
