"""Throughput of the analysis stage: entries per second on one core.

Run: .venv/bin/python bench/bench_analyze.py [--entries N]
Prints one line and writes bench/results/analyze.json.

The mix: the labelled items (../shared/eval/dev.jsonl and tests/data/labelled.jsonl when
present) with varied numbers, dates and names so that texts are not byte-identical, plus
synthetic news that is not about the talks (strikes, markets, sport, other diplomacy), in
English, Ukrainian and Russian. Roughly a feed's proportion: a third relevant.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import write_json  # noqa: E402
from monitor.analyze import Analyzer  # noqa: E402
from monitor.models import Entry  # noqa: E402

SYNTHETIC = {
    "en": [
        "Drone attack on {city} injures {n} people, officials say",
        "Stocks rise as the central bank holds its key rate at {n} percent",
        "{city} football club signs new striker for {n} million euros",
        "Heavy rain floods streets in {city}; {n} homes without power",
        "Minister visits {city} to open a new hospital wing with {n} beds",
        "Gaza ceasefire talks resume in Cairo as hostages remain in captivity",
        "EU adopts its {n}th sanctions package against Russia's energy sector",
    ],
    "uk": [
        "Унаслідок атаки дронів на {city} постраждали {n} людей",
        "Графіки відключень світла у {city}: {n} черг протягом доби",
        "У {city} відкрили новий міст після ремонту вартістю {n} мільйонів гривень",
        "Футбольний клуб з міста {city} переміг з рахунком {n}:0",
    ],
    "ru": [
        "Банк России сохранил ключевую ставку на уровне {n} процентов",
        "В {city} прошел фестиваль, который посетили {n} тысяч человек",
        "Госдума приняла закон о мигрантах в первом чтении, за проголосовали {n} депутатов",
        "В Стамбуле произошло землетрясение магнитудой {n}",
    ],
}
CITIES = ["Kyiv", "Kharkiv", "Odesa", "Lviv", "Дніпро", "Харків", "Москва", "Казань", "Istanbul"]


def _labelled() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for path in (ROOT.parent / "shared" / "eval" / "dev.jsonl", ROOT / "tests/data/labelled.jsonl"):
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                items += [json.loads(line) for line in f if line.strip()]
    return items


def _vary(text: str, rng: random.Random) -> str:
    out = []
    for word in text.split(" "):
        if word.isdigit():
            word = str(int(word) + rng.randint(0, 50))
        out.append(word)
    return " ".join(out)


def build_mix(n: int, seed: int = 7) -> list[Entry]:
    """`n` entries: varied labelled items and synthetic non-relevant news."""
    rng = random.Random(seed)
    labelled = _labelled()
    entries: list[Entry] = []
    published = datetime(2025, 6, 2, 10, tzinfo=UTC)
    for i in range(n):
        if labelled and i % 3 != 2:
            item = labelled[rng.randrange(len(labelled))]
            title = _vary(str(item["title"]), rng)
            summary = _vary(str(item["summary"]), rng)
            lang = str(item["lang"])
        else:
            lang = rng.choice(["en", "uk", "ru"])
            parts = [
                rng.choice(SYNTHETIC[lang]).format(city=rng.choice(CITIES), n=rng.randint(2, 999))
                for _ in range(4)
            ]
            title, summary = parts[0], ". ".join(parts[1:]) + "."
        entries.append(
            Entry(
                id=f"b{i}",
                feed_key=f"b{i}",
                url=None,
                title=title,
                summary=summary,
                content="",
                published=published,
                updated=None,
                lang=lang,
            )
        )
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "analyze.json"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    t0 = time.perf_counter()
    analyzer = Analyzer.load()
    load_s = time.perf_counter() - t0
    entries = build_mix(args.entries)
    warm = entries[: min(500, len(entries))]
    for e in warm:  # the first pass fills the lemma caches, as a running service would
        analyzer.analyze(e)
    t1 = time.perf_counter()
    relevant = claims = 0
    for e in entries:
        a = analyzer.analyze(e)
        relevant += a.relevant
        claims += len(a.claims)
    elapsed = time.perf_counter() - t1
    rate = len(entries) / elapsed
    chars = sum(len(e.title) + len(e.summary) for e in entries) / len(entries)
    result = {
        "entries": len(entries),
        "seconds": round(elapsed, 3),
        "entries_per_second": round(rate, 1),
        "mean_chars_per_entry": round(chars, 1),
        "relevant": relevant,
        "claims": claims,
        "rules_load_seconds": round(load_s, 3),
        "rules_version": analyzer.version,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(
        f"analyze: {rate:,.0f} entries/s on one core ({len(entries)} entries, "
        f"{chars:.0f} chars each, {elapsed:.2f}s; {relevant} relevant, {claims} claims)"
    )
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
