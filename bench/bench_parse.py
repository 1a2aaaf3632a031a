"""Speed of the parse stage: `parse_feed` per document, with and without the fast RSS path.

    .venv/bin/python bench/bench_parse.py [--feeds 100] [--runs 5] [--out bench/results/parse.json]

Two sets of documents, each parsed in process on one core:

* the feed farm's: `render_feed(i, 30, 30)` for `--feeds` feeds (bench/feedfarm.py; RSS 2.0 of
  ~19 KB, 30 items of plain text), with the headers the farm sends;
* the real feeds of the shared corpus (../shared/corpus/real-feeds, RSS, Atom and RDF; JSON
  Feed and HTML left out) with the corpus headers: HTML descriptions, content:encoded, Media
  RSS, podcasts, legacy encodings. Shown as a whole and as the part the fast path takes.

"With" is `parse_feed` as it runs; "without" is the same with `monitor.fastfeed.parse`
replaced by a function that always declines, i.e. feedparser for every document, as before the
fast path. Each figure is the best of `--runs` passes over the set, in ms per document (the
passes of the ways alternate). Also shown: the fast reader alone (`fastfeed.parse`, no
`ParsedFeed` built). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.feedfarm import render_feed  # noqa: E402
from bench.measure import write_json  # noqa: E402
from monitor import fastfeed  # noqa: E402
from monitor.parse import parse_feed  # noqa: E402
from tests.corpus import CORPUS, corpus_headers  # noqa: E402

FARM_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
REAL_SUFFIXES = {".xml", ".rss", ".atom"}

# (feed URL, body, headers) of one document.
Document = tuple[str, bytes, dict[str, str]]


def farm_documents(feeds: int) -> list[Document]:
    return [
        (f"http://127.0.0.1:9/feed/{i}.xml", render_feed(i, 30, 30), FARM_HEADERS)
        for i in range(feeds)
    ]


def real_documents() -> list[Document]:
    """The corpus's real XML feeds; empty when ../shared is absent."""
    folder = CORPUS / "real-feeds"
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix in REAL_SUFFIXES:
            body = path.read_bytes()
            url = f"https://{path.stem}.example/feed"
            out.append((url, body, corpus_headers(f"real-feeds/{path.name}", body)))
    return out


def fast_headers(doc: Document) -> dict[str, str]:
    """The headers `parse_feed` hands to the fast reader (see `_parse_xml_feed`)."""
    url, _, headers = doc
    out = {k.lower(): v for k, v in headers.items()}
    out.setdefault("content-type", "application/xml")
    out["content-location"] = url
    return out


@contextmanager
def without_fast_path() -> Iterator[None]:
    original = fastfeed.parse
    fastfeed.parse = lambda body, headers: None
    try:
        yield
    finally:
        fastfeed.parse = original


def pass_seconds(docs: Sequence[Document], run: Callable[[Document], Any]) -> float:
    start = time.perf_counter()
    for doc in docs:
        run(doc)
    return time.perf_counter() - start


def measure(docs: Sequence[Document], runs: int) -> dict[str, Any]:
    """Best of `runs` passes of each way, in ms per document. The passes of the three ways
    alternate, so that a change in the machine's load weighs on all three alike."""

    def parse(doc: Document) -> None:
        parse_feed(doc[1], doc[2], feed_url=doc[0])

    prepared = [(doc[1], fast_headers(doc)) for doc in docs]
    reader_docs = [
        (doc[0], body, headers) for doc, (body, headers) in zip(docs, prepared, strict=True)
    ]
    best = {"with": float("inf"), "reader": float("inf"), "without": float("inf")}
    for _ in range(runs):
        best["with"] = min(best["with"], pass_seconds(docs, parse))
        reader = pass_seconds(reader_docs, lambda d: fastfeed.parse(d[1], d[2]))
        best["reader"] = min(best["reader"], reader)
        with without_fast_path():
            best["without"] = min(best["without"], pass_seconds(docs, parse))
    ms = {way: seconds / len(docs) * 1000 for way, seconds in best.items()}
    return {
        "documents": len(docs),
        "mean_kb": round(sum(len(d[1]) for d in docs) / len(docs) / 1024, 1),
        "taken_by_fast_path": sum(fastfeed.parse(b, h) is not None for b, h in prepared),
        "ms_without_fast_path": round(ms["without"], 3),
        "ms_with_fast_path": round(ms["with"], 3),
        "ms_fast_reader_alone": round(ms["reader"], 3),
        "speedup": round(ms["without"] / ms["with"], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "parse.json"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    sets = {"farm": farm_documents(args.feeds)}
    real = real_documents()
    if real:
        sets["real"] = real
        sets["real, taken"] = [d for d in real if fastfeed.parse(d[1], fast_headers(d))]
    else:
        print("../shared/corpus is absent: the real feeds are skipped")
    results = {name: measure(docs, args.runs) for name, docs in sets.items() if docs}
    print(f"parse_feed, ms per document, best of {args.runs}")
    print(f"{'set':<12} {'docs':>5} {'KB':>6} {'taken':>6} {'without':>8} {'with':>8} "
          f"{'reader':>8} {'speedup':>8}")  # fmt: skip
    for name, r in results.items():
        print(
            f"{name:<12} {r['documents']:>5} {r['mean_kb']:>6} {r['taken_by_fast_path']:>6} "
            f"{r['ms_without_fast_path']:>8.2f} {r['ms_with_fast_path']:>8.2f} "
            f"{r['ms_fast_reader_alone']:>8.2f} {r['speedup']:>7.2f}x"
        )
    write_json(
        Path(args.out),
        {
            "sets": results,
            "runs": args.runs,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
