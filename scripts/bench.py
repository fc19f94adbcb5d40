"""Measure what one poll costs, and what polling costs Home Assistant: `scripts/bench [--runs N]`.

Prints one Markdown table (the README's "Resource use" section) with each issue-11 target.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from custom_components.claude_usage.scraper.processes import process_tree
from tests.lookalike import CHAT_ORG_UUID
from tests.lookalike.fixture import running_lookalike
from tests.scraper_process import scraper_argv

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "floor: python -c urllib GET"
BARE = "bare: python -c curl_cffi GET"
HTTP = "poll --backend http"
BROWSER = "poll --backend browser"
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Home Assistant's Python caches bytecode (pip compiles what it installs, and the integration's
folder is writable), so the measured children may too: otherwise every run would compile
curl_cffi and the scraper from source, which no installation does."""


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
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=CHILD_ENV,
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


def _cases(lookalike_url: str, state: Path) -> list[tuple[str, list[str]]]:
    api = f"{lookalike_url}/api/organizations"
    # The floor does the least a poll can: read the key, one GET with the cookie.
    floor_code = (
        "import sys, urllib.request; "
        "cookie = 'sessionKey=' + sys.stdin.readline().strip(); "
        "request = urllib.request.Request(sys.argv[1], headers={'Cookie': cookie}); "
        "urllib.request.urlopen(request, timeout=10).read()"
    )
    # The same with the client the http backend uses, as its documentation shows it.
    curl_code = (
        "import sys; from curl_cffi import requests; "
        "key = sys.stdin.readline().strip(); "
        "requests.get(sys.argv[1], cookies={'sessionKey': key}, impersonate='chrome', "
        "timeout=10).content"
    )
    poll = ["poll", "--base-url", lookalike_url, "--backend"]
    return [
        (FLOOR, [sys.executable, "-c", floor_code, api]),
        (BARE, [sys.executable, "-c", curl_code, api]),
        (HTTP, scraper_argv(*poll, "http")),
        (BROWSER, scraper_argv(*poll, "browser", "--state-dir", str(state / "browser"))),
    ]


def _challenge(polls: int) -> Counter[str]:
    """Count which backend served each `--backend auto` poll behind Cloudflare's challenge."""
    sources: Counter[str] = Counter()
    with (
        running_lookalike(challenge=True) as lookalike,
        tempfile.TemporaryDirectory() as state,
    ):
        argv = scraper_argv("poll", "--base-url", lookalike.url, "--state-dir", state)
        for _ in range(polls):
            run = subprocess.run(
                argv,
                input=f"{lookalike.session_key}\n",
                capture_output=True,
                text=True,
                check=False,
                env=CHILD_ENV,
            )
            result = json.loads(run.stdout)
            sources[result.get("source") or result.get("error", "?")] += 1
    return sources


def _home_assistant(slow_polls: int, polls: int) -> dict[str, Any]:
    """Run scripts/bench_hass.py with the end-to-end hass's Python against a fresh look-alike."""
    python = os.environ.get("CLAUDE_USAGE_HASS_PYTHON") or str(ROOT / ".venv-hass/bin/python")
    with running_lookalike() as lookalike:
        run = subprocess.run(
            [
                python,
                str(ROOT / "scripts" / "bench_hass.py"),
                lookalike.url,
                CHAT_ORG_UUID,
                f"--slow-polls={slow_polls}",
                f"--polls={polls}",
            ],
            input=f"{lookalike.session_key}\n",
            capture_output=True,
            text=True,
            check=False,
            env={**CHILD_ENV, "PYTHONPATH": str(ROOT)},
        )
    if run.returncode != 0:
        raise SystemExit(f"bench_hass.py failed:\n{run.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs of each timed case")
    parser.add_argument("--challenge-polls", type=int, default=20)
    parser.add_argument("--slow-polls", type=int, default=200, help="HA side, in debug mode")
    parser.add_argument("--hass-polls", type=int, default=1000, help="HA side, for memory")
    args = parser.parse_args()
    results: dict[str, tuple[float, float, float]] = {}
    with running_lookalike() as lookalike, tempfile.TemporaryDirectory() as state:
        key = f"{lookalike.session_key}\n"
        cases = _cases(lookalike.url, Path(state))
        for _, argv in cases:
            measure(argv, key)  # warm the page and bytecode caches; not counted
        # Round robin, so that a machine busy with other work slows every case alike.
        samples: dict[str, list[Sample]] = {name: [] for name, _ in cases}
        for _ in range(args.runs):
            for name, argv in cases:
                samples[name].append(measure(argv, key))
        for name, runs in samples.items():
            results[name] = (
                statistics.median(s.seconds for s in runs),
                max(s.peak_pss_mb for s in runs),
                max(s.peak_rss_mb for s in runs),
            )
    sources = _challenge(args.challenge_polls)
    hass = _home_assistant(args.slow_polls, args.hass_polls)

    floor, bare = results[FLOOR][0], results[BARE][0]
    http, browser = results[HTTP], results[BROWSER]
    targets = {
        FLOOR: ("", ""),
        BARE: ("", ""),
        HTTP: (
            "≤ 2.0 x floor, ≤ 1.1 x bare curl_cffi",
            _met(http[0] <= 2.0 * floor and http[0] <= 1.1 * bare),
        ),
        BROWSER: ("≤ 1.5 s, PSS ≤ 400 MB", _met(browser[0] <= 1.5 and browser[1] <= 400)),
    }
    print(
        f"`scripts/bench --runs {args.runs}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print(_row("case", "result", "x floor", "peak PSS MB", "peak RSS MB", "target", "met"))
    print(_row(*["---"] * 7))
    for name, (seconds, pss, rss) in results.items():
        ratio = f"{seconds / floor:.2f}"
        if name == HTTP:
            ratio += f" ({seconds / bare:.2f} x bare)"
        cells = (f"{seconds:.3f} s median", ratio, f"{pss:.1f}", f"{rss:.1f}")
        print(_row(name, *cells, *targets[name]))
    by_http = sources.get("http", 0)
    print(
        _row(
            f"Cloudflare challenge: {args.challenge_polls} polls --backend auto",
            ", ".join(f"{count} by {source}" for source, count in sources.most_common()),
            "",
            "",
            "",
            f"≥ {args.challenge_polls - 2} by http",
            _met(by_http >= args.challenge_polls - 2),
        )
    )
    slowest = hass["slowest_callbacks"][0][0] * 1000 if hass["slowest_callbacks"] else 0.0
    reported = f"{hass['slow_callbacks']}"
    if slowest:
        reported += (
            f" (slowest {slowest:.0f} ms; {hass['slow_on_cpu']} of them spent > 10 ms on the CPU,"
            " the rest waited for a busy core)"
        )
    print(
        _row(
            f"HA: {hass['slow_polls']} polls, event-loop callbacks > 10 ms",
            reported,
            "",
            "",
            "",
            "0",
            _met(hass["slow_callbacks"] == 0),
        )
    )
    before, after = hass["before"], hass["after"]
    growth = after["rss_mb"] - before["rss_mb"]
    print(
        _row(
            f"HA: {hass['polls']} more polls ({hass['poll_seconds']:.3f} s each), RSS",
            f"{before['rss_mb']:.1f} → {after['rss_mb']:.1f} MB ({growth:+.2f})",
            "",
            "",
            "",
            "grows < 1 MB",
            _met(growth < 1),
        )
    )
    print(
        _row(
            "HA: open fds, child processes",
            f"{before['fds']} → {after['fds']}, {before['children']} → {after['children']}",
            "",
            "",
            "",
            "flat",
            _met(before["fds"] == after["fds"] and after["children"] == before["children"]),
        )
    )
    for wall, cpu, report in hass["slowest_callbacks"]:
        print(f"\nslow callback ({wall * 1000:.0f} ms, {cpu * 1000:.0f} ms CPU): {report}")


if __name__ == "__main__":
    main()
