"""Speed of story grouping: `assign_stories` for a poll's new items against a pool of recent ones.

    .venv/bin/python bench/bench_grouping.py [--feeds 300] [--pool 2000] [--entries 30 100]
        [--runs 3] [--stories PATH/stories.py] [--same-as PATH/stories.py]
        [--out bench/results/grouping.json]

The items are the feed farm's: `render_feed` documents of `--feeds` feeds (bench/feedfarm.py),
read with ElementTree (feedparser would take most of the set-up; bench_poll.py measures it).
An item is kept as a poll keeps it: it carries the talks vocabulary and the analyzer finds it
relevant; its `StoryItem` has the text, publication time and `story_keys` of its analysis. A poll
of the newest `--entries` items per feed gives the new items (30 per feed: about 900 relevant,
100: about 3,000); the `--pool` relevant items published just before them are the recent ones,
grouped first by `assign_stories` itself as the earlier polls would have. Items are 17 minutes
apart in each feed, so everything is within the 72-hour window.

Each figure is the median of `--runs` calls with the module's caches (features, words) cleared,
as in a fresh `monitor poll`: wall and CPU seconds (CPU is steadier on a busy machine).
`--stories` times another version of monitor/stories.py (a copy of an older one, say) on the same
items; `--same-as` checks that another version gives exactly the same assignments (an
optimisation must not move one), and exits 1 if not. The import
of the module is timed in a fresh interpreter, with the peak RSS after it. Prints a table and
writes JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.feedfarm import _WORDS as FARM_TALKS_WORDS  # noqa: E402
from bench.feedfarm import TALKS_SHARE, render_feed  # noqa: E402
from bench.measure import write_json  # noqa: E402
from monitor.analyze import Analyzer  # noqa: E402
from monitor.models import Entry  # noqa: E402

TALKS = frozenset(w.casefold() for w in FARM_TALKS_WORDS)
# Run in a fresh interpreter: seconds to import the module at argv[1], and the peak RSS after
# (VmHWM: ru_maxrss would carry over the parent's peak across fork and exec).
_IMPORT = """
import importlib.util, re, sys, time
sys.path.insert(0, sys.argv[2])
import monitor.models
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("stories_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
seconds = time.perf_counter() - start
status = open("/proc/self/status", encoding="ascii").read()
print(seconds, int(re.search(r"VmHWM:\\s*(\\d+)", status).group(1)) / 1024)
"""


def load_stories(path: Path, name: str = "stories_under_test") -> ModuleType:
    """The stories module at `path`, under its own `name` so that two versions can coexist."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def farm_entries(feeds: int, items: int) -> list[tuple[int, Entry]]:
    """(item number, entry) of the items 1..`items` of every farm feed that use talks words."""
    out = []
    for feed in range(feeds):
        for node in ET.fromstring(render_feed(feed, items, items)).iter("item"):
            title, summary = node.findtext("title", ""), node.findtext("description", "")
            if not TALKS & set(title.casefold().split()):
                continue  # general news: the analyzer would find nothing
            guid = node.findtext("guid", "")
            entry = Entry(
                id=guid,
                feed_key=guid,
                url=node.findtext("link"),
                title=title,
                summary=summary,
                content="",
                published=parsedate_to_datetime(node.findtext("pubDate", "")),
                updated=None,
                lang="en",
            )
            out.append((int(guid.rsplit("-", 1)[1]), entry))
    return out


def story_items(
    stories: ModuleType, feeds: int, history: int, newest: int
) -> list[tuple[int, Any]]:
    """(item number, StoryItem) of the relevant farm items, oldest first."""
    analyzer = Analyzer.load()
    out = []
    for number, entry in farm_entries(feeds, history + newest):
        analysis = analyzer.analyze(entry)
        if analysis.relevant:
            item = stories.StoryItem(
                entry.id,
                f"{entry.title}\n{entry.summary}",
                entry.lang,
                entry.published,
                stories.story_keys(analysis),
            )
            out.append((number, item))
    return sorted(out, key=lambda p: (p[1].when, p[1].id))


def clear_caches(stories: ModuleType) -> None:
    """Empty the module's caches (features, words): a fresh poll has none of earlier calls."""
    for value in vars(stories).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def timed(
    stories: ModuleType, new: Sequence[Any], recent: Sequence[tuple[Any, str]], runs: int
) -> tuple[list[tuple[float, float]], dict[str, str]]:
    """(wall, CPU) seconds of each of `runs` cold calls of `assign_stories`, and the last result.
    CPU time is what a busy machine disturbs least: the call is single-threaded."""
    seconds = []
    for _ in range(runs):
        clear_caches(stories)
        wall, cpu = time.perf_counter(), time.process_time()
        got: dict[str, str] = stories.assign_stories(new, recent)
        seconds.append((time.perf_counter() - wall, time.process_time() - cpu))
    return seconds, got


def import_cost(path: Path, runs: int) -> dict[str, float]:
    """Median seconds to import the module in a fresh interpreter, and peak RSS after it."""
    measured = []
    for _ in range(runs):
        cmd = [sys.executable, "-c", _IMPORT, str(path), str(HERE.parent)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
        measured.append((float(out[0]), float(out[1])))
    return {
        "seconds": round(statistics.median(s for s, _ in measured), 4),
        "peak_rss_mb": round(max(r for _, r in measured), 1),
    }


def row(
    name: str,
    seconds: list[tuple[float, float]],
    new: Sequence[Any],
    recent: Sequence[Any],
    got: dict[str, str],
) -> dict[str, Any]:
    recent_stories = {story for _, story in recent}
    return {
        "name": name,
        "new": len(new),
        "recent": len(recent),
        "median_s": round(statistics.median(wall for wall, _ in seconds), 4),
        "median_cpu_s": round(statistics.median(cpu for _, cpu in seconds), 4),
        "runs_s": [round(wall, 4) for wall, _ in seconds],
        "stories": len(set(got.values())),
        "joined_recent": sum(1 for story in got.values() if story in recent_stories),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--feeds", type=int, default=300)
    p.add_argument("--pool", type=int, default=2000, help="recent items, already grouped")
    p.add_argument("--entries", type=int, nargs="+", default=[30, 100], help="new items per feed")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--stories",
        type=Path,
        default=HERE.parent / "monitor" / "stories.py",
        help="the stories.py to time (default: the repo's)",
    )
    p.add_argument(
        "--same-as",
        type=Path,
        help="another stories.py that must give the same assignments (exit 1 if not)",
    )
    p.add_argument("--out", type=Path, default=HERE / "results" / "grouping.json")
    args = p.parse_args()
    stories = load_stories(args.stories)
    other = load_stories(args.same_as, "stories_to_match") if args.same_as else None
    differ: list[str] = []
    # A quarter more history than the pool needs on average, then the newest `--pool` of it.
    history = math.ceil(1.25 * args.pool / (args.feeds * TALKS_SHARE))
    items = story_items(stories, args.feeds, history, max(args.entries))
    pool = [item for number, item in items if number <= history][-args.pool :]
    seconds, grouped = timed(stories, pool, [], args.runs)
    results = [row("pool, grouped from scratch", seconds, pool, [], grouped)]
    if other and other.assign_stories(pool, []) != grouped:
        differ.append(results[-1]["name"])
    recent = [(item, grouped[item.id]) for item in pool]
    for entries in sorted(args.entries):
        new = [item for number, item in items if history < number <= history + entries]
        seconds, got = timed(stories, new, recent, args.runs)
        results.append(row(f"poll of {entries} items per feed", seconds, new, recent, got))
        if other and other.assign_stories(new, recent) != got:
            differ.append(results[-1]["name"])
    span: timedelta = items[-1][1].when - pool[0].when
    report = {
        "stories_module": os.path.relpath(args.stories),
        "feeds": args.feeds,
        "span_hours": round(span.total_seconds() / 3600, 1),
        "import": import_cost(args.stories, args.runs),
        "assign_stories": results,
    }
    print(
        f"{'assign_stories':<32} {'new':>6} {'recent':>6} {'wall s':>7} {'cpu s':>7} {'stories':>8}"
    )
    for r in results:
        print(
            f"{r['name']:<32} {r['new']:>6} {r['recent']:>6} {r['median_s']:>7.3f}"
            f" {r['median_cpu_s']:>7.3f} {r['stories']:>8}"
        )
    cost = report["import"]
    print(f"import {report['stories_module']}: {cost['seconds']:.3f} s, {cost['peak_rss_mb']} MB")
    write_json(args.out, report)
    if other:
        verdict = f"differ: {', '.join(differ)}" if differ else "the same"
        print(f"assignments of {os.path.relpath(args.same_as)}: {verdict}")
        if differ:
            sys.exit(1)


if __name__ == "__main__":
    main()
