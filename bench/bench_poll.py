"""Poll benchmark: the monitor and its peers against one local feed farm, first poll then unchanged.

    .venv/bin/python bench/bench_poll.py [--feeds 100 300 1000 2000] [--entries 30]
        [--latency 0.1 | --latency-spread 0.05:0.8] [--hosts 50] [--change-rate 0.1]
        [--concurrency N]
        [--peers-at 300] [--peers loop reader reader16] [--out bench/results/poll.json]

For each N a farm (bench/feedfarm.py, its own process, N feeds spread over `--hosts` loopback
addresses) serves every client in turn; each client starts from an empty state (its own temp
database), polls once ("first": every feed new), again ("unchanged": the farm has not
changed, so conditional requests should all be answered 304), and once more after the farm moved
on a generation ("changed": `--change-rate` of the feeds gained one item, the steady state of
a poll cycle). Clients:

- `monitor`: the installed `monitor poll` in a subprocess, as cron runs it (start-up included);
  `--concurrency` is written to feeds.yaml when given, else the monitor's default applies.
- `loop`, `reader`, `reader16` (at the N of `--peers-at`): see bench/peers.py. `reader` is
  skipped with a message when it is not installed.

Per poll: wall and CPU time (the whole process tree), peak RSS of the largest process, peak PSS
of the whole tree ("tree MB": with forked workers the honest total, see measure.py), feed
requests the farm answered, 304s, bytes sent and max requests in flight.
Prints a table and writes JSON (default bench/results/poll.json).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.feedfarm import (  # noqa: E402
    farm_advance,
    farm_reset,
    farm_stats,
    feed_url,
    start_farm_subprocess,
)
from bench.measure import run_measured, write_json  # noqa: E402

MONITOR = Path(sys.executable).parent / "monitor"
PEERS = {
    "loop": ["loop"],
    "reader": ["reader", "--workers", "1"],
    "reader16": ["reader", "--workers", "16"],
}


def reader_available() -> bool:
    try:
        import reader  # noqa: F401
    except ImportError:
        return False
    return True


def write_config(
    directory: Path, urls: list[str], concurrency: int | None, database: Path | None = None
) -> Path:
    lines = ["settings:", "  timezone: UTC"]
    if database:
        lines.append(f"  database: {database}")
    if concurrency:
        lines.append(f"  concurrency: {concurrency}")
    lines.append("feeds:")
    for i, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: Farm feed {i}", "    lang: en"]
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _client_command(
    client: str, workdir: Path, urls: list[str], concurrency: int | None
) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    if client == "monitor":
        config = write_config(workdir, urls, concurrency)
        return [str(MONITOR), "--config", str(config), "poll"]
    url_file = workdir / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    return [
        sys.executable,
        str(HERE / "peers.py"),
        *PEERS[client],
        "--urls",
        str(url_file),
        "--state",
        str(workdir / "state"),
    ]


def poll_twice(base: str, command: list[str], *, changed: bool = False) -> dict[str, Any]:
    """A first poll and an unchanged one; with `changed`, a third after the farm moved on a
    generation (a share of the feeds gained an item: the steady state of a poll cycle)."""
    out: dict[str, Any] = {}
    for name in ("first", "unchanged", "changed") if changed else ("first", "unchanged"):
        if name == "changed":
            farm_advance(base)
        farm_reset(base)
        measured = run_measured(command)
        stats = farm_stats(base)
        requests = stats["feed_requests"]
        out[name] = {
            **{
                k: measured[k]
                for k in ("wall_s", "cpu_s", "peak_rss_mb", "peak_tree_mb", "peak_tree_rss_mb")
            },
            "summary": measured["stdout"].strip().splitlines()[0] if measured["stdout"] else "",
            "requests": requests,
            "not_modified": stats["not_modified"],
            "pct_304": round(100 * stats["not_modified"] / requests, 1) if requests else 0.0,
            "errors": requests - stats["ok"] - stats["not_modified"],
            "bytes": stats["bytes_sent"],
            "max_in_flight": stats["max_in_flight"],
        }
    return out


def run(args: argparse.Namespace, feeds: int) -> dict[str, Any]:
    spread = tuple(args.latency_spread) if args.latency_spread else None
    proc, base = start_farm_subprocess(
        feeds,
        entries=args.entries,
        latency=args.latency,
        latency_spread=spread,  # type: ignore[arg-type]
        hosts=args.hosts,
        change_rate=args.change_rate,
    )
    try:
        urls = [feed_url(base, i, args.hosts) for i in range(feeds)]
        clients = ["monitor"]
        if feeds in args.peers_at:
            for peer in args.peers:
                if peer.startswith("reader") and not reader_available():
                    print(
                        f"skipping peer {peer}: reader is not installed "
                        "(.venv/bin/pip install reader)",
                        file=sys.stderr,
                    )
                    continue
                clients.append(peer)
        result: dict[str, Any] = {
            "feeds": feeds,
            "entries_per_feed": args.entries,
            "latency_s": args.latency if not spread else None,
            "latency_spread_s": spread,
            "hosts": args.hosts,
            "change_rate": args.change_rate,
            "concurrency": args.concurrency,
            "clients": {},
        }
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
            for client in clients:
                command = _client_command(client, Path(tmp) / client, urls, args.concurrency)
                result["clients"][client] = poll_twice(base, command, changed=args.change_rate > 0)
                _print_rows(feeds, client, result["clients"][client])
        return result
    finally:
        proc.terminate()
        proc.wait()


HEADER = (
    f"{'feeds':>6} {'client':>9} {'poll':>9} {'wall s':>7} {'cpu s':>6} {'rss MB':>7} "
    f"{'tree MB':>7} {'reqs':>5} {'304 %':>6} {'err':>4} {'MB sent':>8} {'inflight':>8}"
)


def _print_rows(feeds: int, client: str, polls: dict[str, Any]) -> None:
    for name, m in polls.items():
        print(
            f"{feeds:>6} {client:>9} {name:>9} {m['wall_s']:>7.2f} {m['cpu_s']:>6.2f} "
            f"{m['peak_rss_mb']:>7.1f} {m['peak_tree_mb'] or 0:>7.1f} {m['requests']:>5} "
            f"{m['pct_304']:>6.1f} {m['errors']:>4} {m['bytes'] / 1e6:>8.2f} "
            f"{m['max_in_flight']:>8}",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--feeds", type=int, nargs="+", default=[100, 300, 1000, 2000])
    p.add_argument("--entries", type=int, default=30)
    p.add_argument("--latency", type=float, default=0.1)
    p.add_argument("--latency-spread", type=float, nargs=2, metavar=("LOW", "HIGH"))
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument(
        "--change-rate",
        type=float,
        default=0.1,
        help="share of feeds that gain an item before a third poll ('changed'); 0: no third poll",
    )
    p.add_argument("--concurrency", type=int, default=None, help="default: the monitor's")
    p.add_argument("--peers-at", type=int, nargs="*", default=[300])
    p.add_argument("--peers", nargs="*", default=list(PEERS), choices=list(PEERS))
    p.add_argument("--out", type=Path, default=HERE / "results" / "poll.json")
    args = p.parse_args()
    print(HEADER, flush=True)
    rows = [run(args, n) for n in args.feeds]
    write_json(args.out, rows)


if __name__ == "__main__":
    main()
