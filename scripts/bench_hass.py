"""What polling costs Home Assistant itself; `scripts/bench.py` runs this with hass's Python.

A real `HomeAssistant` core runs the integration's `ScraperRunner` in a loop against the
look-alike (URL as the first argument, the session key on stdin), as the coordinator would at
its shortest interval with nothing in between:

1. `--slow-polls` polls with asyncio's debug mode on and its slow-callback threshold at 10 ms
   (after one poll that is not counted); every "Executing ... took" report is counted, and the
   CPU time of each such callback is kept. These polls also warm the process up.
2. `--polls` more polls; the process's RSS, open file descriptors and child processes are read
   before and after (after a garbage collection, with nothing else running).

Prints one JSON object on stdout. The look-alike runs in another process, so its own memory
(it records every request) is not counted here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
from pathlib import Path
import re
import sys
import tempfile
import time
from typing import Any, Self

from homeassistant.core import HomeAssistant

from custom_components.claude_usage.runner import ScraperRunner
from custom_components.claude_usage.scraper.processes import process_tree
from custom_components.claude_usage.scraper.protocol import Backend

SLOW_CALLBACK_SECONDS = 0.010
_TOOK = re.compile(r"took (\d+\.\d+) seconds")


class SlowCallbacks(logging.Handler):
    """Counts asyncio debug mode's reports of callbacks over the threshold.

    asyncio times callbacks by the wall clock, so a callback that waited for a core (the
    machine busy with other work) counts as slow too. Each callback's CPU time is kept beside
    it, from a wrapper around `Handle._run`, to tell the two apart.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reported = 0
        self.timed: list[tuple[float, float, str]] = []
        self._run = asyncio.events.Handle._run

    def emit(self, record: logging.LogRecord) -> None:
        if _TOOK.search(record.getMessage()):
            self.reported += 1

    def __enter__(self) -> Self:
        run, timed = self._run, self.timed

        def timed_run(handle: asyncio.Handle) -> None:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                run(handle)
            finally:
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                if wall >= SLOW_CALLBACK_SECONDS:
                    # A task step's handle names only a wrapper; the task says what ran.
                    task = getattr(getattr(handle, "_callback", None), "__self__", None)
                    timed.append((wall, cpu, repr(task or handle)[:300]))

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        logging.getLogger("asyncio").addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        logging.getLogger("asyncio").removeHandler(self)
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _snapshot() -> dict[str, Any]:
    gc.collect()
    return {
        "rss_mb": round(_rss_kb() / 1024, 2),
        "fds": len(os.listdir("/proc/self/fd")),
        "children": len(process_tree(os.getpid())) - 1,
    }


async def _bench(url: str, key: str, organization: str, args: argparse.Namespace) -> dict:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as config:
        hass = HomeAssistant(config)
        await hass.async_start()
        runner = ScraperRunner(
            hass,
            base_url=url,
            state_dir=Path(config) / ".storage" / "claude_usage" / "bench",
            browser_slot=asyncio.Semaphore(1),
        )

        async def polls(count: int) -> float:
            started = time.perf_counter()
            for _ in range(count):
                usage = await runner.poll(key, organization, Backend.AUTO)
                assert usage.windows, "a poll must read the usage windows"
            return (time.perf_counter() - started) / count

        loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
        loop.set_debug(True)
        # Not counted: debug mode reads every source file of the stacks it records once, and
        # the first poll meets them all (some 50 ms of CPU in one step).
        await polls(1)
        with SlowCallbacks() as slow:
            seconds_debug = await polls(args.slow_polls)
            loop.set_debug(False)
            await asyncio.sleep(0)  # the step that turned debug off is still timed; end it here
        await asyncio.sleep(0)  # and the one that unwrapped Handle._run: the snapshot is ours

        before = _snapshot()
        seconds = await polls(args.polls)
        after = _snapshot()
        await hass.async_stop()
    return {
        "slow_polls": args.slow_polls,
        "slow_callbacks": slow.reported,
        "slow_on_cpu": sum(1 for _, cpu, _ in slow.timed if cpu >= SLOW_CALLBACK_SECONDS),
        "slowest_callbacks": sorted(slow.timed, reverse=True)[:3],
        "polls": args.polls,
        "poll_seconds": round(seconds, 4),
        "poll_seconds_debug": round(seconds_debug, 4),
        "before": before,
        "after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("organization")
    parser.add_argument("--slow-polls", type=int, default=200)
    parser.add_argument("--polls", type=int, default=1000)
    args = parser.parse_args()
    key = sys.stdin.readline().strip()
    result = asyncio.run(_bench(args.url, key, args.organization, args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
