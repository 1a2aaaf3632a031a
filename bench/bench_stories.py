"""Pairwise precision and recall of story grouping on the labelled sets.

    .venv/bin/python bench/bench_stories.py [--verbose] [FILE.jsonl ...]

Default files: ../shared/eval/dev.jsonl and tests/data/labelled.jsonl (when present). Items
sharing an `event` belong together. Two modes: `batch` puts every item in one poll at one time
(the similarity signal alone); `polls` feeds them one at a time in published order with their
published dates (items without a date sit at one fixed time), as successive polls would. Each
mode runs on the text alone and with `story_keys` of the analyzer's analysis (`+keys`).
`reachable` is the share of gold pairs the polls mode can find at all: both dated within the
window of each other, or both undated.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analyze import Analyzer  # noqa: E402
from monitor.evaluate import load_labelled  # noqa: E402
from monitor.stories import (  # noqa: E402
    WINDOW,
    StoryItem,
    assign_stories,
    pairwise_scores,
    story_keys,
)
from tests.conftest import SHARED  # noqa: E402

NOON = datetime(2025, 6, 1, 12, tzinfo=UTC)


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def story_items(
    rows: list[dict[str, object]], keys: dict[str, frozenset[str]], dated: bool
) -> list[StoryItem]:
    items = []
    for r in rows:
        when = NOON
        if dated and r.get("published"):
            when = datetime.fromisoformat(str(r["published"])[:10]).replace(hour=12, tzinfo=UTC)
        text = f"{r.get('title') or ''}\n{r.get('summary') or ''}"
        iid = str(r["id"])
        items.append(
            StoryItem(iid, text, str(r.get("lang") or ""), when, keys.get(iid, frozenset()))
        )
    return items


def polls(items: list[StoryItem]) -> dict[str, str]:
    recent: list[tuple[StoryItem, str]] = []
    for item in sorted(items, key=lambda i: (i.when, i.id)):
        recent.append((item, assign_stories([item], recent)[item.id]))
    return {i.id: s for i, s in recent}


def reachable(rows: list[dict[str, object]], gold: dict[str, str | None]) -> float:
    when = {i.id: i.when for i in story_items(rows, {}, dated=True)}
    pairs = [(a, b) for a, b in combinations(sorted(gold), 2) if gold[a] and gold[a] == gold[b]]
    near = sum(1 for a, b in pairs if abs(when[a] - when[b]) <= WINDOW)
    return near / len(pairs) if pairs else 1.0


def run(path: Path, analyzer: Analyzer, verbose: bool) -> None:
    rows = load(path)
    gold = {str(r["id"]): (str(r["event"]) if r.get("event") else None) for r in rows}
    keys = {i.id: story_keys(analyzer.analyze(i.to_entry())) for i in load_labelled(path)}
    runs: dict[str, dict[str, str]] = {}
    for suffix, k in (("", {}), ("+keys", keys)):
        runs["batch" + suffix] = assign_stories(story_items(rows, k, dated=False), [])
        runs["polls" + suffix] = polls(story_items(rows, k, dated=True))
    for mode, got in runs.items():
        s = pairwise_scores(gold, got)
        print(
            f"{path.name} {mode:<11} items={len(rows)} gold_pairs={s.true_pos + s.false_neg} "
            f"predicted_pairs={s.true_pos + s.false_pos} precision={s.precision:.3f} "
            f"recall={s.recall:.3f}"
        )
    print(f"{path.name} polls reachable recall={reachable(rows, gold):.3f}")
    if verbose:
        groups: dict[str, list[str]] = {}
        for i, story in runs["batch+keys"].items():
            groups.setdefault(story, []).append(i)
        by_id = {str(r["id"]): r for r in rows}
        for members in groups.values():
            if len(members) > 1:
                print("  story:", [(m, gold[m], str(by_id[m]["title"])[:50]) for m in members])


def main(argv: list[str]) -> None:
    verbose = "--verbose" in argv
    paths = [Path(a) for a in argv if not a.startswith("--")] or [
        SHARED / "eval" / "dev.jsonl",
        ROOT / "tests" / "data" / "labelled.jsonl",
    ]
    analyzer = Analyzer.load()
    for p in paths:
        if p.is_file():
            run(p, analyzer, verbose)
        else:
            print(f"{p}: absent, skipped")


if __name__ == "__main__":
    main(sys.argv[1:])
