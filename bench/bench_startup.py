"""Start-up benchmark: `monitor --help`, and `monitor poll` when no feed is due.

    .venv/bin/python bench/bench_startup.py [--feeds 300] [--runs 5] [--out ...startup.json]

"Nothing due": a database made by the real `Store`, with `--feeds` feeds all backing off (one
failure, next attempt in a year) and the feeds.yaml naming them, so `monitor poll` loads the
config, opens the database, finds nothing to fetch and exits; what is left is start-up (imports,
rules) and bookkeeping. Median wall time of `--runs` runs each, as subprocesses. Also reports
`python -c pass` as the floor any command pays. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_poll import write_config  # noqa: E402
from bench.measure import run_measured, write_json  # noqa: E402

MONITOR = Path(sys.executable).parent / "monitor"


def nothing_due_config(directory: Path, feeds: int) -> Path:
    """feeds.yaml + a database whose feeds are all backing off."""
    from monitor.config import load_config
    from monitor.pipeline import open_store

    urls = [f"http://127.0.0.1:9/feed/{i}.xml" for i in range(feeds)]
    path = write_config(directory, urls, None)
    config = load_config(path)
    open_store(config).close()
    conn = sqlite3.connect(str(config.settings.database))
    with conn:
        conn.execute(
            """UPDATE feeds SET consecutive_failures = 1, last_attempt = '2026-01-01T00:00:00Z',
                 last_error = 'connection refused', error_since = '2026-01-01T00:00:00Z',
                 next_attempt = '2999-01-01T00:00:00Z'"""
        )
    conn.close()
    return path


def median_run(cmd: list[str], runs: int) -> dict[str, Any]:
    measured = [run_measured(cmd) for _ in range(runs)]
    return {
        "wall_s": statistics.median(m["wall_s"] for m in measured),
        "cpu_s": statistics.median(m["cpu_s"] for m in measured),
        "peak_rss_mb": max(m["peak_rss_mb"] for m in measured),
        "stdout": measured[-1]["stdout"].strip().splitlines()[0] if measured[-1]["stdout"] else "",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--feeds", type=int, default=300)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", type=Path, default=HERE / "results" / "startup.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        config = nothing_due_config(Path(tmp), args.feeds)
        results = {
            "python -c pass": median_run([sys.executable, "-c", "pass"], args.runs),
            "monitor --help": median_run([str(MONITOR), "--help"], args.runs),
            f"monitor poll, {args.feeds} feeds, none due": median_run(
                [str(MONITOR), "--config", str(config), "poll"], args.runs
            ),
        }
    print(f"{'command':<40} {'wall s':>7} {'cpu s':>6} {'rss MB':>7}")
    for name, m in results.items():
        print(f"{name:<40} {m['wall_s']:>7.3f} {m['cpu_s']:>6.3f} {m['peak_rss_mb']:>7.1f}")
    write_json(args.out, results)


if __name__ == "__main__":
    main()
