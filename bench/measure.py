"""Measuring a command the way cron runs it: wall time, CPU time and memory of its process tree.

`run_measured(cmd)` runs `cmd` in a subprocess and returns wall seconds, CPU seconds (user +
system of the process and every descendant it waited for, e.g. a process pool's workers), the
peak RSS of the largest single process, and the peak *total* memory of the whole tree.

With a process pool the largest-process RSS alone understates the footprint, and the sum of RSS
overstates it (pages shared copy-on-write after fork count once per process). The honest figure
is the sum of PSS (proportional set size: a shared page is split between its sharers) over the
process and its live descendants, `peak_tree_mb`. Reading PSS (smaps_rollup) is not free: at 20
samples a second it slowed the measured process by half, so it is sampled 4 times a second (a
peak shorter than that can be missed); VmHWM and the RSS sum (`peak_tree_rss_mb`, an upper
bound) are read 20 times a second from /proc/PID/status. Linux only.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> None:
    """Write a benchmark's results (creating bench/results/) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"written {os.path.relpath(path)}")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in task.read_text().split()]
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _status_kib(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {
        line.split()[0]: int(line.split()[1])
        for line in text.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_kib = 0  # sum of PSS over the tree
        self.peak_rss_sum_kib = 0  # sum of RSS over the tree
        self.hwm_kib = 0  # largest VmHWM (peak RSS) of any process in the tree
        self.done = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.done.is_set():
            pids = _tree(self.pid)
            total = 0
            for p in pids:
                status = _status_kib(p)
                total += status.get("VmRSS:", 0)
                self.hwm_kib = max(self.hwm_kib, status.get("VmHWM:", 0))
            self.peak_rss_sum_kib = max(self.peak_rss_sum_kib, total)
            if tick % 5 == 0:
                self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in pids))
            tick += 1
            self.done.wait(self.every)


def run_measured(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, check: bool = True
) -> dict[str, Any]:
    """Run `cmd`; return wall_s, cpu_s, peak_rss_mb (largest process), peak_tree_mb (PSS sum),
    peak_tree_rss_mb (RSS sum), returncode, stdout and stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} … failed ({proc.returncode}): {stderr[-2000:]}")
    # Sampled, not ru_maxrss: RUSAGE_CHILDREN's maxrss is the largest child of this whole
    # bench process so far, not of this command.
    peak_rss = sampler.hwm_kib / 1024 if sampler.hwm_kib else after.ru_maxrss / 1024
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3),
        "peak_rss_mb": round(peak_rss, 1),
        "peak_tree_mb": round(sampler.peak_kib / 1024, 1) if os.path.exists("/proc") else None,
        "peak_tree_rss_mb": round(sampler.peak_rss_sum_kib / 1024, 1),
        "returncode": proc.returncode,
        "stdout": stdout,
        "stderr": stderr,
    }
