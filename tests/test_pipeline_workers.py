"""Parsing and analysis in worker processes, and the analyzer loaded only when needed.

Big runs parse and analyze in forked worker processes (`pipeline._parse_workers`), small ones in
a thread; both must store exactly the same thing. A run given a loader instead of an analyzer
loads the rules only when some document has new or changed entries.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor import pipeline
from monitor.analyze import Analyzer
from monitor.models import Config
from monitor.pipeline import open_store, run_once
from tests.feedserver import FeedServer
from tests.rss import TALKS, rss
from tests.test_pipeline import T0, Clock, analyzer, make_config, server  # noqa: F401

FEEDS = pipeline.POOL_MIN_FEEDS + 4


def serve(server: FeedServer, n: int) -> list[str]:  # noqa: F811
    """n feeds carrying the talks items (each under its own links: near-duplicate reports for
    story grouping) and one item of their own."""
    return [
        server.add(
            f"/f{i:02d}.xml",
            body=rss(
                [*TALKS, (f"Local news {i}", f"Council meeting number {i}.")],
                base=f"https://news{i}.example",
            ),
            etag=f'"f{i}"',
            headers={"Content-Type": "application/rss+xml"},
        )
        for i in range(n)
    ]


def stored(config: Config) -> list[dict[str, Any]]:
    """Everything stored about entries, feeds and stories, as comparable plain data."""
    with open_store(config) as store:
        rows = [
            {
                "id": s.entry.id,
                "feeds": sorted(s.feeds),
                "relevant": s.relevant,
                "score": round(s.score, 6),
                "story": s.story,
                "claims": [json.dumps(c.claim.__dict__, sort_keys=True) for c in s.claims],
            }
            for s in store.export_entries()
        ]
        feeds = [(f.url, f.entries, f.validators.etag) for f in store.feed_states()]
    return [*sorted(rows, key=lambda r: r["id"]), {"feeds": feeds}]


def poll(config: Config, analyzer: object, clock: Clock) -> Any:  # noqa: F811
    with open_store(config) as store:
        return run_once(config, store, analyzer, clock=clock, rng=random.Random(1))  # type: ignore[arg-type]


def test_worker_processes_store_what_a_thread_stores(
    tmp_path: Path,
    server: FeedServer,  # noqa: F811
    analyzer: Analyzer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = serve(server, FEEDS)
    (tmp_path / "pooled").mkdir()
    (tmp_path / "threaded").mkdir()
    pooled = make_config(tmp_path / "pooled", urls)
    threaded = make_config(tmp_path / "threaded", urls)

    used: list[object] = []
    real = pipeline._parse_workers

    @contextmanager
    def spy(source: object, feeds: int) -> Iterator[object]:
        with real(source, feeds) as workers:  # type: ignore[arg-type]
            used.append(workers)
            yield workers

    monkeypatch.setattr(pipeline, "_parse_workers", spy)
    summary = poll(pooled, analyzer, Clock(T0))
    assert summary.count("ok") == FEEDS and summary.new_entries == 4 * FEEDS
    assert used and used[-1] is not None  # a process pool served this run

    monkeypatch.setattr(pipeline, "POOL_MIN_FEEDS", 10**6)
    poll(threaded, analyzer, Clock(T0))
    assert used[-1] is None  # and a thread that one
    assert stored(pooled) == stored(threaded)


@pytest.mark.parametrize("pool", [True, False], ids=["processes", "thread"])
def test_rules_are_loaded_only_when_a_document_has_new_entries(
    tmp_path: Path,
    server: FeedServer,  # noqa: F811
    analyzer: Analyzer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    pool: bool,
) -> None:
    if not pool:
        monkeypatch.setattr(pipeline, "POOL_MIN_FEEDS", 10**6)
    config = make_config(tmp_path, serve(server, FEEDS))
    loads: list[int] = []

    def load() -> Analyzer:
        loads.append(1)  # in worker processes, each appends to its own copy
        return analyzer

    clock = Clock(T0)
    first = poll(config, load, clock)
    assert first.count("ok") == FEEDS and first.new_entries == 4 * FEEDS
    with open_store(config) as store:
        assert store.counts()["claims"] > 0  # the loaded rules did analyse
    if not pool:
        assert loads == [1]  # once for the whole run, not once per feed
        clock.now += timedelta(minutes=30)
        second = poll(config, load, clock)
        assert second.count("not_modified") == FEEDS
        assert loads == [1]  # nothing to analyse: not loaded again
