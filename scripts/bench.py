"""Measure what one poll costs; run through `scripts/bench [--runs N]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from custom_components.claude_usage.scraper.processes import process_tree
from tests.lookalike.fixture import running_lookalike
from tests.scraper_process import scraper_argv

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    seconds: float
    peak_pss_mb: float
    peak_rss_mb: float


def _memory_kb(pid: int) -> tuple[int, int]:
    """Return (PSS, RSS) of one process in kB."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def measure(argv: list[str], stdin: str) -> Sample:
    """Run one command, sampling its process tree's memory every 5 ms until it exits."""
    peak = [0, 0]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            totals = [_memory_kb(pid) for pid in process_tree(process.pid)]
            peak[0] = max(peak[0], sum(t[0] for t in totals))
            peak[1] = max(peak[1], sum(t[1] for t in totals))
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, _ = process.communicate(stdin)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{argv} failed: {stdout}")
    return Sample(seconds, peak[0] / 1024, peak[1] / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with running_lookalike() as lookalike, tempfile.TemporaryDirectory() as state:
        key = f"{lookalike.session_key}\n"
        # The floor does the least a poll can: read the key, one GET with the cookie.
        floor_code = (
            "import sys, urllib.request; "
            "cookie = 'sessionKey=' + sys.stdin.readline().strip(); "
            "request = urllib.request.Request(sys.argv[1], headers={'Cookie': cookie}); "
            "urllib.request.urlopen(request, timeout=10).read()"
        )
        cases: list[tuple[str, Callable[[], Sample]]] = [
            (
                "floor: python -c urllib GET",
                lambda: measure(
                    [sys.executable, "-c", floor_code, f"{lookalike.url}/api/organizations"], key
                ),
            ),
            (
                "poll --backend http",
                lambda: measure(
                    scraper_argv("poll", "--base-url", lookalike.url, "--backend", "http"), key
                ),
            ),
            (
                "poll --backend browser",
                lambda: measure(
                    scraper_argv(
                        "poll",
                        "--base-url",
                        lookalike.url,
                        "--backend",
                        "browser",
                        "--state-dir",
                        str(Path(state) / "browser"),
                    ),
                    key,
                ),
            ),
        ]
        results = []
        for name, case in cases:
            case()  # warm the page cache; not counted
            samples = [case() for _ in range(runs)]
            results.append(
                (
                    name,
                    statistics.median(s.seconds for s in samples),
                    max(s.peak_pss_mb for s in samples),
                    max(s.peak_rss_mb for s in samples),
                )
            )
    floor_time, floor_pss = results[0][1], results[0][2]
    print(f"poll against the look-alike, {runs} runs each (median wall time, peak of the tree)")
    print(
        f"{'case':32} {'median s':>9} {'x floor':>8} {'peak PSS MB':>12} {'x floor':>8} "
        f"{'peak RSS MB':>12}"
    )
    for name, seconds, pss, rss in results:
        print(
            f"{name:32} {seconds:9.3f} {seconds / floor_time:8.2f} {pss:12.1f} "
            f"{pss / floor_pss:8.2f} {rss:12.1f}"
        )


if __name__ == "__main__":
    main()
