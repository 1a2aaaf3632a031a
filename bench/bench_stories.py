"""Pairwise precision and recall of story grouping on the labelled sets.

    .venv/bin/python bench/bench_stories.py [--verbose] [FILE.jsonl ...]

Default files: ../shared/eval/dev.jsonl and tests/data/labelled.jsonl (when present). Items
sharing an `event` belong together. Two modes: `batch` puts every item in one poll at one time
(the similarity signal alone); `polls` feeds them one at a time in published order with their
published dates (items without a date sit at one fixed time), as successive polls would.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.stories import StoryItem, assign_stories, pairwise_scores  # noqa: E402
from tests.conftest import SHARED  # noqa: E402

NOON = datetime(2025, 6, 1, 12, tzinfo=UTC)


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def story_items(rows: list[dict[str, object]], dated: bool) -> list[StoryItem]:
    items = []
    for r in rows:
        when = NOON
        if dated and r.get("published"):
            when = datetime.fromisoformat(str(r["published"])[:10]).replace(hour=12, tzinfo=UTC)
        text = f"{r.get('title') or ''}\n{r.get('summary') or ''}"
        items.append(StoryItem(str(r["id"]), text, str(r.get("lang") or ""), when))
    return items


def run(path: Path, verbose: bool) -> None:
    rows = load(path)
    gold = {str(r["id"]): (str(r["event"]) if r.get("event") else None) for r in rows}
    batch = assign_stories(story_items(rows, dated=False), [])
    recent: list[tuple[StoryItem, str]] = []
    for item in sorted(story_items(rows, dated=True), key=lambda i: (i.when, i.id)):
        recent.append((item, assign_stories([item], recent)[item.id]))
    polls = {i.id: s for i, s in recent}
    for mode, got in (("batch", batch), ("polls", polls)):
        s = pairwise_scores(gold, got)
        print(
            f"{path.name} {mode}: items={len(rows)} gold_pairs={s.true_pos + s.false_neg} "
            f"predicted_pairs={s.true_pos + s.false_pos} precision={s.precision:.3f} "
            f"recall={s.recall:.3f}"
        )
    if verbose:
        groups: dict[str, list[str]] = {}
        for i, story in batch.items():
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
    for p in paths:
        if p.is_file():
            run(p, verbose)
        else:
            print(f"{p}: absent, skipped")


if __name__ == "__main__":
    main(sys.argv[1:])
