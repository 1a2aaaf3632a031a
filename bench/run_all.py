"""Every benchmark of issue 6 in one run (`make bench`), then the comparison table.

    .venv/bin/python bench/run_all.py [--quick] [--concurrency 64]

Runs, each as its own process writing JSON to bench/results/:

1. bench_analyze.py: analysis throughput, entries/s on one core;
2. bench_poll.py: first and unchanged poll for N = 100, 300, 1,000, 2,000 feeds x 30 entries at
   100 ms latency on 50 loopback hosts, and at N = 300 the peers on the same farm (a sequential
   httpx + feedparser loop; reader with its default one worker and with 16). The peers are
   skipped, with a message, when `reader` is not installed (`pip install reader sgmllib3k`);
3. bench_poll.py again with latency spread 50-800 ms at N = 300 (monitor only);
4. bench_digest.py: a year of data: `monitor digest` of a 10,000-entry day in a 1,000,000-entry
   database (and with only that day stored), and a 300-feed poll on that database and on an
   empty one;
5. bench_startup.py: `monitor --help`, and `monitor poll` with 300 feeds none due.

Then prints the comparison table (monitor / peer ratios) and the targets met or missed, and
writes bench/results/summary.json. `--quick` runs smaller sizes (a smoke test, ~3 minutes).
Whole run: about 7 minutes on a 2-core machine (6 min 43 s measured).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PY = sys.executable


def step(title: str, args: list[str]) -> float:
    print(f"\n== {title}\n$ {' '.join(Path(a).name if a == PY else a for a in args)}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([PY, *args], check=True)
    return time.perf_counter() - t0


def load(name: str) -> Any:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}x" if a else "-"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="the monitor's `concurrency` setting for the polls (default 64)",
    )
    args = p.parse_args()
    quick = args.quick
    conc = ["--concurrency", str(args.concurrency)]
    feeds = ["100", "300"] if quick else ["100", "300", "1000", "2000"]
    started = time.perf_counter()
    timings = {
        "analyze": step(
            "analysis throughput",
            [str(HERE / "bench_analyze.py"), "--entries", "3000" if quick else "20000"],
        ),
        "poll": step(
            "poll: monitor at every size, peers at 300 feeds, 100 ms latency",
            [str(HERE / "bench_poll.py"), "--feeds", *feeds, "--peers-at", "300", *conc],
        ),
        "poll_spread": step(
            "poll: 300 feeds, latency spread 50-800 ms",
            [
                str(HERE / "bench_poll.py"),
                "--feeds",
                "300",
                "--latency-spread",
                "0.05",
                "0.8",
                "--peers-at",
                "--out",
                str(RESULTS / "poll_spread.json"),
                *conc,
            ],
        ),
        "digest": step(
            "a year of data: digest of a 10,000-entry day, polls on 1M entries",
            [str(HERE / "bench_digest.py")]
            + (["--entries", "100000", "--runs", "1", "--poll-feeds", "100"] if quick else []),
        ),
        "startup": step("start-up", [str(HERE / "bench_startup.py")]),
    }
    summary = report(args.concurrency)
    summary["step_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nall benchmarks in {summary['total_seconds']:.0f}s; written bench/results/")


def report(concurrency: int) -> dict[str, Any]:
    analyze, polls, digest = load("analyze.json"), load("poll.json"), load("digest.json")
    spread, startup = load("poll_spread.json"), load("startup.json")
    print("\n" + "=" * 100)
    print(
        f"Poll cycles, 30 entries a feed, 100 ms latency, 50 hosts; monitor concurrency "
        f"{concurrency} (2 per host)"
    )
    print(
        f"{'feeds':>6} {'client':>9} {'first s':>8} {'cpu s':>6} {'unchanged s':>11} "
        f"{'304 %':>6} {'changed s':>9} {'rss MB':>7} {'tree MB':>7} {'MB sent':>8} "
        f"{'bound s':>7}"
    )
    rows: list[dict[str, Any]] = []
    for r in [*polls, dict(spread[0], feeds=f"{spread[0]['feeds']}*")]:
        for client, m in r["clients"].items():
            first, again = m["first"], m["unchanged"]
            cycle = m.get("changed", {}).get("wall_s")
            runs = [first, again, *(m[k] for k in ("changed",) if k in m)]
            bound = (
                int(r["feeds"]) / concurrency * r["latency_s"]
                if client == "monitor" and r["latency_s"]
                else None
            )
            print(
                f"{r['feeds']:>6} {client:>9} {first['wall_s']:>8.2f} {first['cpu_s']:>6.2f} "
                f"{again['wall_s']:>11.2f} {again['pct_304']:>6.1f} "
                f"{'-' if cycle is None else f'{cycle:.2f}':>9} "
                f"{max(p['peak_rss_mb'] for p in runs):>7.1f} "
                f"{max(p['peak_tree_mb'] for p in runs):>7.1f} "
                f"{first['bytes'] / 1e6:>8.2f} {bound if bound is None else round(bound, 2)!s:>7}"
            )
            rows.append({"feeds": r["feeds"], "client": client, "bound_s": bound, **m})
    print(
        "changed: a third poll after 10% of the feeds gained an item (a steady poll cycle); "
        "* latency spread 50-800 ms per feed"
    )
    at300 = next(r for r in polls if r["feeds"] == 300)["clients"]
    mon = at300["monitor"]
    print("\nRatios at 300 feeds (peer time / monitor time; > 1 means the monitor is faster)")
    ratios: dict[str, dict[str, float]] = {}
    for peer in ("loop", "reader", "reader16"):
        if peer not in at300:
            print(f"  {peer:>9}: skipped (reader not installed: pip install reader sgmllib3k)")
            continue
        first = at300[peer]["first"]["wall_s"] / mon["first"]["wall_s"]
        again = at300[peer]["unchanged"]["wall_s"] / mon["unchanged"]["wall_s"]
        ratios[peer] = {"first": round(first, 2), "unchanged": round(again, 2)}
        print(f"  {peer:>9}: first poll {first:5.2f}x   unchanged poll {again:5.2f}x")
    big = next((r for r in polls if r["feeds"] == 1000), None)
    biggest = max(polls, key=lambda r: r["feeds"])
    help_s = startup["monitor --help"]["wall_s"]
    print(
        f"\nanalysis: {analyze['entries_per_second']:,.0f} entries/s on one core\n"
        f"digest: {digest['digest_wall_s']:.2f}s for {digest['day_entries']:,} entries in a "
        f"{digest['entries']:,}-entry database (gather {digest['gather_s']}s, render+write "
        f"{digest['render_write_s']}s); with only that day stored: "
        f"{digest['day_only']['digest_wall_s']:.2f}s"
    )
    for name, polls in digest.get("polls", {}).items():
        print(
            f"poll on the {name} database: first {polls['first']['wall_s']:.2f}s, "
            f"unchanged {polls['unchanged']['wall_s']:.2f}s"
        )
    for name, m in startup.items():
        print(f"start-up: {name}: {m['wall_s']:.3f}s")
    targets: list[tuple[str, bool | None, str]] = []
    if "reader16" in ratios:
        r16 = ratios["reader16"]
        targets.append(
            ("first poll >= 1.5x faster than reader16", r16["first"] >= 1.5, f"{r16['first']:.2f}x")
        )
        targets.append(
            (
                "unchanged poll >= 2x faster than reader16, >= 95% 304",
                r16["unchanged"] >= 2 and mon["unchanged"]["pct_304"] >= 95,
                f"{r16['unchanged']:.2f}x, {mon['unchanged']['pct_304']:.0f}% 304",
            )
        )
    if big:
        limit = 1000 / concurrency * 0.1
        for name in ("changed", "unchanged", "first"):
            if name not in big["clients"]["monitor"]:
                continue
            wall = big["clients"]["monitor"][name]["wall_s"]
            targets.append(
                (
                    f"1,000 feeds within 2x of the latency/concurrency bound ({name} poll)",
                    wall <= 2 * limit,
                    f"{wall:.2f}s vs bound {limit:.2f}s",
                )
            )
    mem = max(p["peak_tree_mb"] for p in biggest["clients"]["monitor"].values())
    targets.append(
        (
            f"peak memory < 250 MB at {biggest['feeds']} feeds (whole process tree)",
            mem < 250,
            f"{mem:.0f} MB",
        )
    )
    targets.append(("monitor --help < 0.3 s", help_s < 0.3, f"{help_s:.3f}s"))
    targets.append(
        (
            f"digest of a {digest['day_entries']:,}-entry day < 2 s on "
            f"{digest['entries']:,} entries",
            digest["digest_wall_s"] < 2,
            f"{digest['digest_wall_s']:.2f}s",
        )
    )
    print("\nTargets (issue 6)")
    for name, ok, value in targets:
        print(f"  [{'met' if ok else 'MISSED':>6}] {name}: {value}")
    return {
        "rows": rows,
        "ratios_at_300": ratios,
        "targets": [{"target": n, "met": ok, "value": v} for n, ok, v in targets],
    }


if __name__ == "__main__":
    main()
