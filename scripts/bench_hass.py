"""What polling costs Home Assistant itself; `scripts/bench.py` runs this with hass's Python.

A real `HomeAssistant` core runs the integration's `ScraperRunner` in a loop against the
look-alike (URL as the first argument, the session key on stdin), as the coordinator would at
its shortest interval with nothing in between:

1. `--slow-polls` polls with asyncio's debug mode on and its slow-callback threshold at 10 ms;
   every "Executing ... took" report is counted. These polls also warm the process up.
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
from typing import Any

from homeassistant.core import HomeAssistant

from custom_components.claude_usage.runner import ScraperRunner
from custom_components.claude_usage.scraper.processes import process_tree
from custom_components.claude_usage.scraper.protocol import Backend

SLOW_CALLBACK_SECONDS = 0.010
_TOOK = re.compile(r"took (\d+\.\d+) seconds")


class SlowCallbacks(logging.Handler):
    """Collects asyncio debug mode's reports of callbacks over the threshold."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if match := _TOOK.search(message):
            self.reports.append((float(match.group(1)), message[:300]))


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

        slow = SlowCallbacks()
        logging.getLogger("asyncio").addHandler(slow)
        loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
        loop.set_debug(True)
        seconds_debug = await polls(args.slow_polls)
        loop.set_debug(False)
        await asyncio.sleep(0)  # the step that turned debug off is still timed; end it here
        logging.getLogger("asyncio").removeHandler(slow)

        before = _snapshot()
        seconds = await polls(args.polls)
        after = _snapshot()
        await hass.async_stop()
    return {
        "slow_polls": args.slow_polls,
        "slow_callbacks": len(slow.reports),
        "slowest_callbacks": sorted(slow.reports, reverse=True)[:3],
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
