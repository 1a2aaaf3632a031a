"""Poll benchmark: `monitor poll` against the local feed farm, first poll then unchanged poll.

    .venv/bin/python bench/bench_poll.py [--feeds 300] [--entries 30] [--latency 0.1] [--hosts 50]

Runs the installed `monitor` command in a subprocess (as cron would) on a fresh database in a
temp dir, against N feeds served by bench/feedfarm.py in its own process, and reports for each
poll: wall time, CPU time and peak RSS of the monitor process, requests the farm answered, 304s,
and bytes sent. Prints a table and writes bench/results/poll.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.feedfarm import farm_reset, farm_stats, feed_url, start_farm_subprocess  # noqa: E402

MONITOR = Path(sys.executable).parent / "monitor"


def write_config(directory: Path, urls: list[str], concurrency: int) -> Path:
    lines = [
        "settings:",
        f"  concurrency: {concurrency}",
        "  timezone: UTC",
        "feeds:",
    ]
    for i, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: Farm feed {i}", "    lang: en"]
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed_poll(config: Path) -> dict[str, float]:
    """Run `monitor poll` once; wall, CPU and peak RSS of that child alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [str(MONITOR), "--config", str(config), "poll"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"monitor poll failed: {done.stderr}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3),
        # ru_maxrss of RUSAGE_CHILDREN is the largest child so far (KiB on Linux).
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "summary": done.stdout.strip().splitlines()[0],
    }


def run(feeds: int, entries: int, latency: float, hosts: int, concurrency: int) -> dict[str, Any]:
    proc, base = start_farm_subprocess(feeds, entries=entries, latency=latency, hosts=hosts)
    try:
        urls = [feed_url(base, i, hosts) for i in range(feeds)]
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), urls, concurrency)
            results: dict[str, Any] = {
                "feeds": feeds,
                "entries_per_feed": entries,
                "latency_s": latency,
                "hosts": hosts,
                "concurrency": concurrency,
                "latency_bound_s": round(feeds / concurrency * latency, 2),
            }
            for name in ("first", "unchanged"):
                farm_reset(base)
                measured = timed_poll(config)
                stats = farm_stats(base)
                measured.update(
                    requests=stats["feed_requests"],
                    not_modified=stats["not_modified"],
                    bytes=stats["bytes_sent"],
                    max_in_flight=stats["max_in_flight"],
                )
                results[name] = measured
        return results
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, nargs="+", default=[300])
    p.add_argument("--entries", type=int, default=30)
    p.add_argument("--latency", type=float, default=0.1)
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=16)
    args = p.parse_args()
    rows = [run(n, args.entries, args.latency, args.hosts, args.concurrency) for n in args.feeds]
    print(
        f"{'feeds':>6} {'poll':>9} {'wall s':>7} {'cpu s':>6} {'rss MB':>7} {'requests':>8} "
        f"{'304s':>6} {'MB sent':>8} {'bound s':>7}"
    )
    for r in rows:
        for name in ("first", "unchanged"):
            m = r[name]
            print(
                f"{r['feeds']:>6} {name:>9} {m['wall_s']:>7.2f} {m['cpu_s']:>6.2f} "
                f"{m['peak_rss_mb']:>7.1f} {m['requests']:>8} {m['not_modified']:>6} "
                f"{m['bytes'] / 1e6:>8.2f} {r['latency_bound_s']:>7.2f}"
            )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "poll.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"written {os.path.relpath(out / 'poll.json')}")


if __name__ == "__main__":
    main()
