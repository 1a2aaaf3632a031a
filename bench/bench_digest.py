"""A year of data: `monitor digest` of a 10,000-entry day, and polls, on a 1M-entry database.

    .venv/bin/python bench/bench_digest.py [--entries 1000000] [--day-entries 10000]
        [--relevant 0.1] [--poll-feeds 300] [--keep PATH] [--out bench/results/digest.json]

The database is made by `monitor.store.Store` (so the schema and migrations are the real ones),
then filled in bulk with plain SQL: `--entries` entries over the 365 days before D and
`--day-entries` on D, from 200 feeds; a `--relevant` share are relevant with one or two claims
each and a story (about three reports a story); one entry in ten was also seen by a second feed;
the novelty ledger is built from the claims as `Store.rebuild_ledger` does. The full-text
triggers are dropped during the load and put back afterwards, and the index is built in one go
at the end, as `monitor doctor --fix` would.

Times the installed `monitor digest` in a subprocess (start-up included, median of 3), and in
process where the time goes (gathering from the store vs rendering and writing). The same
digest on a database holding only the day shows whether the time stays flat as data grows.

Then the poll on a year of data: `--poll-feeds` farm feeds (bench/feedfarm.py, 30 entries,
100 ms) polled first and unchanged by `monitor poll`, on a copy of the 1M-entry database and on
an empty one. Prints the figures and writes JSON. With `--keep PATH` the database is kept (and
reused when it already exists).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_poll import poll_twice  # noqa: E402
from bench.bench_poll import write_config as write_poll_config  # noqa: E402
from bench.feedfarm import _GENERAL_WORDS as FARM_GENERAL_WORDS  # noqa: E402
from bench.feedfarm import _WORDS as FARM_TALKS_WORDS  # noqa: E402
from bench.feedfarm import feed_url, start_farm_subprocess  # noqa: E402
from bench.measure import run_measured, write_json  # noqa: E402

MONITOR = Path(sys.executable).parent / "monitor"
DAY = date(2025, 6, 2)
FEEDS = 200
HISTORY_DAYS = 365

# The farm's vocabulary: talks words and general news words.
_WORDS = [*FARM_TALKS_WORDS, *FARM_GENERAL_WORDS]
ACTORS = ("russia", "ukraine", "us", "eu", "turkey")
STANCES = ("demand", "concession", "rejection")
ISSUES = ("territory", "nato", "neutrality", "ceasefire", "prisoners", "sanctions", "children")
DETAILS = ("", "withdraw:donetsk", "cap:600000", "cap:800000", "kind:energy", "swap:1000")


def _texts(rng: random.Random, n: int, words: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() for _ in range(n)]


def _entry_rows(
    total: int, day_entries: int, relevant: float, seed: int
) -> Iterator[tuple[Any, ...]]:
    """(id, url, title, summary, published, lang, fingerprint, first_seen, relevant, score,
    evidence, story, feed) for every entry, oldest first."""
    rng = random.Random(seed)
    titles, summaries = _texts(rng, 997, 10), _texts(rng, 1009, 60)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) - timedelta(days=HISTORY_DAYS)
    history = total - day_entries
    history_step = HISTORY_DAYS * 86400 / max(1, history)
    day_step = 86400 / max(1, day_entries)
    story, in_story = "", 3
    for i in range(total):
        if i < history:
            moment = start + timedelta(seconds=i * history_step)
        else:
            moment = start + timedelta(days=HISTORY_DAYS, seconds=(i - history) * day_step)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        entry_id = hashlib.blake2b(f"e{i}".encode(), digest_size=16).hexdigest()
        is_relevant = rng.random() < relevant
        if is_relevant:
            if in_story >= 3:
                story, in_story = f"s-{entry_id[:10]}", 0
            in_story += 1
        yield (
            entry_id,
            f"https://news{i % FEEDS}.example/{i}",
            f"{titles[i % 997]} {i}",
            summaries[i % 1009],
            stamp,
            "en",
            entry_id,
            stamp,
            int(is_relevant),
            round(rng.random(), 3) if is_relevant else 0.0,
            '["talks"]' if is_relevant else "[]",
            story if is_relevant else None,
            f"https://feeds{i % FEEDS}.example/rss",
        )


def build_database(path: Path, total: int, day_entries: int, relevant: float) -> float:
    """Create the schema through Store, then bulk-load; returns seconds taken."""
    from monitor.store import Store

    t0 = time.perf_counter()
    Store(path).close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    # A bulk load into a new file: no journal (the WAL would hold the whole load a second time).
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entries'"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER [{name}]")
    conn.executemany(
        "INSERT INTO feeds(url, name, lang) VALUES (?, ?, 'en')",
        [(f"https://feeds{f}.example/rss", f"Feed {f:03d}") for f in range(FEEDS)],
    )
    rng = random.Random(1)
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.executemany(
            """INSERT INTO entries(id, url, title, summary, published, lang, fingerprint,
                 first_seen, changed, relevant, score, evidence, story)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?8, ?, ?, ?, ?)""",
            [r[:12] for r in batch],
        )
        conn.executemany(
            """INSERT INTO sightings(feed_url, feed_key, entry_id, fingerprint, first_seen)
               VALUES (?, ?, ?, ?, ?)""",
            [(r[12], r[0], r[0], r[6], r[7]) for r in batch]
            + [
                (f"https://feeds{(n + 1) % FEEDS}.example/rss", r[0], r[0], r[6], r[7])
                for n, r in enumerate(batch)
                if n % 10 == 0
            ],
        )
        claims = []
        for r in batch:
            if r[8]:
                for seq in range(rng.choice((1, 1, 2))):
                    claims.append(
                        (
                            r[0],
                            seq,
                            rng.choice(ACTORS),
                            rng.choice(STANCES),
                            rng.choice(ISSUES),
                            rng.choice(ACTORS),
                            rng.choice(DETAILS),
                            r[3][:200],
                            r[7],
                        )
                    )
        conn.executemany(
            """INSERT INTO claims(entry_id, seq, actor, stance, issue, target, detail, evidence,
                 first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            claims,
        )
        batch.clear()

    for row in _entry_rows(total, day_entries, relevant, seed=0):
        batch.append(row)
        if len(batch) >= 20_000:
            flush()
    flush()
    conn.execute(
        """INSERT INTO ledger(actor, stance, issue, detail, first_reported, entry_id)
           SELECT c.actor, c.stance, c.issue, c.detail, min(e.first_seen), min(e.id)
           FROM claims c JOIN entries e ON e.id = c.entry_id
           GROUP BY c.actor, c.stance, c.issue, c.detail"""
    )
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("INSERT INTO entries_fts(entries_fts) VALUES ('rebuild')")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return time.perf_counter() - t0


def write_config(directory: Path, database: Path) -> Path:
    lines = [
        "settings:",
        f"  database: {database}",
        f"  digests_dir: {directory / 'digests'}",
        "  timezone: UTC",
        "feeds:",
    ]
    for f in range(FEEDS):
        lines += [f"  - url: https://feeds{f}.example/rss", f"    name: Feed {f:03d}"]
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def breakdown(config_path: Path) -> dict[str, float]:
    """In process: seconds spent gathering the day from the store, and rendering + writing."""
    from monitor.config import load_config
    from monitor.digest_files import write_digest
    from monitor.pipeline import digest_day
    from monitor.store import Store

    config = load_config(config_path)
    with Store(config.settings.database, timezone="UTC", create=False) as store:
        t0 = time.perf_counter()
        day = digest_day(config, store, DAY)
        t1 = time.perf_counter()
        write_digest(day, config.settings.digests_dir)
        t2 = time.perf_counter()
    return {
        "gather_s": round(t1 - t0, 3),
        "render_write_s": round(t2 - t1, 3),
        "relevant_entries": len(day.entries),
    }


def time_digest(directory: Path, database: Path, runs: int) -> dict[str, Any]:
    """`monitor digest` of DAY on `database`: median wall of `runs`, CPU, peak RSS, breakdown."""
    config = write_config(directory, database.resolve())
    measured = [
        run_measured([str(MONITOR), "--config", str(config), "digest", "--date", DAY.isoformat()])
        for _ in range(runs)
    ]
    walls = [r["wall_s"] for r in measured]
    return {
        "digest_wall_s": statistics.median(walls),
        "digest_walls_s": walls,
        "digest_cpu_s": statistics.median(r["cpu_s"] for r in measured),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in measured),
        **breakdown(config),
    }


def time_polls(directory: Path, database: Path, feeds: int) -> dict[str, Any]:
    """First and unchanged `monitor poll` of `feeds` farm feeds, on a copy of `database` (the
    year of data) and on an empty database, against one farm."""
    proc, base = start_farm_subprocess(feeds, entries=30, latency=0.1, hosts=50)
    try:
        urls = [feed_url(base, i, 50) for i in range(feeds)]
        out: dict[str, Any] = {}
        for name, source in (("year", database), ("empty", None)):
            work = directory / f"poll-{name}"
            work.mkdir()
            target = work / "monitor.db"
            if source is not None:
                shutil.copyfile(source, target)
            config = write_poll_config(work, urls, None, target)
            out[name] = poll_twice(base, [str(MONITOR), "--config", str(config), "poll"])
            target.unlink()
        return out
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--day-entries", type=int, default=10_000)
    p.add_argument("--relevant", type=float, default=0.1, help="share of relevant entries")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--poll-feeds", type=int, default=300, help="0: no polls")
    p.add_argument("--keep", type=Path, help="keep (and reuse) the database at this path")
    p.add_argument("--out", type=Path, default=HERE / "results" / "digest.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
        directory = Path(tmp)
        database = args.keep or directory / "monitor.db"
        build_s = None
        if not database.exists():
            build_s = round(
                build_database(database, args.entries, args.day_entries, args.relevant), 1
            )
        day_only = directory / "day-only.db"
        build_database(day_only, args.day_entries, args.day_entries, args.relevant)
        (directory / "small").mkdir()
        result: dict[str, Any] = {
            "entries": args.entries,
            "day_entries": args.day_entries,
            "relevant_share": args.relevant,
            "database_mb": round(database.stat().st_size / 1e6, 1),
            "build_s": build_s,
            **time_digest(directory, database, args.runs),
            "day_only": time_digest(directory / "small", day_only, args.runs),
        }
        if args.poll_feeds:
            result["polls"] = time_polls(directory, database, args.poll_feeds)
    made = f"built in {build_s}s" if build_s is not None else "reused"
    print(
        f"digest of {args.day_entries:,} entries in a {args.entries:,}-entry database "
        f"({result['database_mb']} MB, {made}): {result['digest_wall_s']:.2f}s wall "
        f"(median of {args.runs}), {result['digest_cpu_s']:.2f}s CPU, "
        f"{result['peak_rss_mb']} MB; in process: gather {result['gather_s']}s, "
        f"render+write {result['render_write_s']}s ({result['relevant_entries']} relevant)\n"
        f"the same digest with only that day stored: {result['day_only']['digest_wall_s']:.2f}s"
    )
    for name, polls in result.get("polls", {}).items():
        first, again = polls["first"], polls["unchanged"]
        print(
            f"poll of {args.poll_feeds} feeds x 30 entries on the {name} database: first "
            f"{first['wall_s']:.2f}s ({first['cpu_s']:.2f}s CPU), unchanged {again['wall_s']:.2f}s "
            f"({again['pct_304']:.0f}% 304)"
        )
    write_json(args.out, result)


if __name__ == "__main__":
    main()
