"""The process tree below a pid, read from /proc.

Both sides need it: Playwright starts Chromium in a process group of its own, so neither the
scraper (on its deadline) nor the runner (on timeout or cancellation) can reach every browser
process through the group alone.
"""

from __future__ import annotations

import contextlib
import os
import signal


def process_tree(pid: int) -> list[int]:
    """Return `pid` and every live process below it (Linux; just `pid` elsewhere)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree = [pid]
    for parent in tree:
        tree.extend(children.get(parent, ()))
    return tree


def kill_descendants(pid: int) -> None:
    """SIGKILL every process below `pid` (not `pid` itself)."""
    for child in process_tree(pid)[1:]:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)
