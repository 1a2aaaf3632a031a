"""End to end: a real HTTP server on 127.0.0.1 → run_once → a real SQLite file."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.analyze import Analyzer
from monitor.config import load_config
from monitor.models import Config, RunSummary
from monitor.pipeline import UNCHANGED_BATCH, open_store, run_once
from tests.feedserver import FeedServer
from tests.rss import TALKS, rss

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


class Clock:
    """A settable clock: time is an argument, never read from the machine in these tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def make_config(tmp_path: Path, urls: list[str]) -> Config:
    """A feeds.yaml in tmp_path with short timeouts and one feed per URL."""
    lines = [
        "settings:",
        "  total_timeout: 3s",
        "  read_timeout: 2s",
        "  connect_timeout: 2s",
        "feeds:",
    ]
    for i, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: Feed {i}", "    lang: en"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


def poll(config: Config, analyzer: Analyzer, clock: Clock, **kw: object) -> RunSummary:
    with open_store(config) as store:
        return run_once(config, store, analyzer, clock=clock, rng=random.Random(1), **kw)  # type: ignore[arg-type]


def by_name(summary: RunSummary) -> dict[str, str]:
    return {o.name: o.status for o in summary.outcomes}


def test_poll_twice_stores_once_and_second_poll_is_304(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    url = server.add(
        "/a.xml", body=rss(TALKS), etag='"v1"', headers={"Content-Type": "application/rss+xml"}
    )
    config = make_config(tmp_path, [url])
    clock = Clock(T0)
    first = poll(config, analyzer, clock)
    assert by_name(first) == {"Feed 0": "ok"} and first.new_entries == 3
    clock.now += timedelta(minutes=30)
    second = poll(config, analyzer, clock)
    assert by_name(second) == {"Feed 0": "not_modified"} and second.new_entries == 0
    assert server.requests_for("/a.xml")[1].headers["if-none-match"] == '"v1"'
    with open_store(config) as store:
        assert store.counts()["entries"] == 3
        relevant = {s.entry.title for s in store.export_entries() if s.relevant}
    assert relevant == {TALKS[0][0], TALKS[1][0]}


def test_new_items_add_only_those(tmp_path: Path, server: FeedServer, analyzer: Analyzer) -> None:
    url = server.add("/a.xml", body=rss(TALKS[:2]), etag='"v1"')
    config = make_config(tmp_path, [url])
    clock = Clock(T0)
    poll(config, analyzer, clock)
    route = server.route("/a.xml")
    route.body, route.etag = rss(TALKS), '"v2"'
    clock.now += timedelta(hours=1)
    summary = poll(config, analyzer, clock)
    assert summary.new_entries == 1
    with open_store(config) as store:
        seen = {s.entry.title: s.first_seen for s in store.export_entries()}
    assert seen[TALKS[2][0]] == clock.now and seen[TALKS[0][0]] == T0


def test_one_feed_failing_never_stops_the_run_and_backs_off(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    good = server.add("/good.xml", body=rss(TALKS))
    bad = server.add("/bad.xml", status=500, body=b"oops")
    config = make_config(tmp_path, [good, bad])
    clock = Clock(T0)
    summary = poll(config, analyzer, clock)
    assert by_name(summary) == {"Feed 0": "ok", "Feed 1": "error"}
    with open_store(config) as store:
        state = {f.name: f for f in store.feed_states()}
    assert state["Feed 1"].consecutive_failures == 1 and "500" in (state["Feed 1"].last_error or "")
    assert state["Feed 1"].next_attempt is not None and state["Feed 1"].next_attempt > T0
    # Immediately after, the failing feed is backing off; the good one is polled again.
    clock.now += timedelta(minutes=1)
    again = poll(config, analyzer, clock)
    assert by_name(again) == {"Feed 0": "ok", "Feed 1": "skipped"}
    assert len(server.requests_for("/bad.xml")) == 1
    # --all ignores the backoff; failures keep counting (persisted, not in memory).
    forced = poll(config, analyzer, clock, force=True)
    assert by_name(forced)["Feed 1"] == "error"
    with open_store(config) as store:
        assert {f.name: f for f in store.feed_states()}["Feed 1"].consecutive_failures == 2


def test_retry_after_is_honoured(tmp_path: Path, server: FeedServer, analyzer: Analyzer) -> None:
    url = server.add("/busy.xml", status=429, headers={"Retry-After": "7200"})
    config = make_config(tmp_path, [url])
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    poll(config, analyzer, clock)
    with open_store(config) as store:
        (state,) = store.feed_states()
    assert state.next_attempt is not None
    assert state.next_attempt >= clock.now + timedelta(seconds=7200 - 5)


def test_gone_stops_polling(tmp_path: Path, server: FeedServer, analyzer: Analyzer) -> None:
    url = server.add("/gone.xml", status=410)
    config = make_config(tmp_path, [url])
    clock = Clock(T0)
    assert by_name(poll(config, analyzer, clock)) == {"Feed 0": "gone"}
    clock.now += timedelta(days=3)
    assert by_name(poll(config, analyzer, clock)) == {"Feed 0": "skipped"}
    assert len(server.requests_for("/gone.xml")) == 1
    with open_store(config) as store:
        (state,) = store.feed_states()
    assert state.gone and "410" in (state.last_error or "")


def test_broken_or_empty_fetch_never_hides_stored_entries(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    url = server.add("/a.xml", body=rss(TALKS))
    config = make_config(tmp_path, [url])
    clock = Clock(T0)
    poll(config, analyzer, clock)
    for body, headers in [
        (b"<html><body><h1>Maintenance</h1></body></html>", {"Content-Type": "text/html"}),
        (rss([]), {}),
        (rss(TALKS)[:200], {}),
    ]:
        route = server.route("/a.xml")
        route.body, route.headers = body, headers
        clock.now += timedelta(hours=1)
        poll(config, analyzer, clock, force=True)
        with open_store(config) as store:
            assert store.counts()["entries"] == 3
    with open_store(config) as store:
        (state,) = store.feed_states()
    assert state.entries == 3


def test_permanent_redirect_is_recorded(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    server.add("/new.xml", body=rss(TALKS))
    old = server.redirect("/old.xml", "/new.xml", status=301)
    config = make_config(tmp_path, [old])
    summary = poll(config, analyzer, Clock(T0))
    (outcome,) = summary.outcomes
    assert outcome.status == "ok" and outcome.permanent_redirect == server.url("/new.xml")
    with open_store(config) as store:
        (state,) = store.feed_states()
    assert state.redirected_to == server.url("/new.xml")


def test_same_article_in_two_feeds_is_one_entry(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    a = server.add("/a.xml", body=rss(TALKS))
    b = server.add("/b.xml", body=rss(TALKS[:1]))
    config = make_config(tmp_path, [a, b])
    summary = poll(config, analyzer, Clock(T0))
    assert summary.new_entries == 3
    with open_store(config) as store:
        stored = {s.entry.title: s for s in store.export_entries()}
    assert stored[TALKS[0][0]].feeds == ("Feed 0", "Feed 1") or stored[TALKS[0][0]].feeds == (
        "Feed 1",
        "Feed 0",
    )


def test_relevant_entries_get_a_story(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    url = server.add("/a.xml", body=rss(TALKS))
    config = make_config(tmp_path, [url])
    poll(config, analyzer, Clock(T0))
    with open_store(config) as store:
        stories = {s.entry.title: s.story for s in store.export_entries()}
    assert stories[TALKS[0][0]] and stories[TALKS[1][0]]
    assert stories[TALKS[2][0]] is None


def test_full_text_feeds_are_analysed_on_the_article(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    pytest.importorskip("trafilatura")
    article = (
        "<html><body><nav>Home | World</nav><article><h1>Talks in Istanbul</h1>"
        + "".join(
            f"<p>Paragraph {i}: the Kremlin said Russia demands that Ukraine withdraw its "
            "forces from the Donetsk region as a condition for a ceasefire, as delegations "
            "led by Medinsky and Umerov met for peace talks in Istanbul.</p>"
            for i in range(5)
        )
        + "</article></body></html>"
    ).encode()
    page = server.add("/article", body=article, headers={"Content-Type": "text/html"})
    teaser = rss([("Morning briefing", "Read the full story on our site.")], base=page[:-8])
    body = teaser.replace(b"/story/0", b"/article")
    url = server.add("/a.xml", body=body, etag='"1"')
    config = make_config(tmp_path, [url])
    config.path.write_text(
        config.path.read_text(encoding="utf-8") + "    full_text: true\n", encoding="utf-8"
    )
    config = load_config(config.path)
    poll(config, analyzer, Clock(T0))
    with open_store(config) as store:
        (stored,) = store.export_entries()
    assert stored.relevant and stored.claims  # judged on the article, not the teaser
    assert stored.entry.content == ""  # stored as the feed gave it
    assert len(server.requests_for("/article")) == 1
    # Reclassify reads the cached page: no second fetch, same judgement.
    from monitor.pipeline import reclassify

    with open_store(config) as store:
        assert reclassify(store, analyzer) == (0, 1)
    assert len(server.requests_for("/article")) == 1


def test_stored_story_features_change_no_story(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    """Grouping reads each report's features as stored by earlier polls; the stories are the same
    as when they are derived again, and stored features that are stale (another digest) or
    unreadable are derived again and replaced."""
    rows = [
        json.loads(line)
        for line in (Path(__file__).parent / "data" / "labelled.jsonl").read_text().splitlines()
    ]
    items = [(r["title"], r["summary"]) for r in rows if r["lang"] == "en"][:60]
    url = server.add("/a.xml", body=b"")
    route = server.route("/a.xml")
    variants = {
        "kept": "",
        "stale": "digest = 'stale', data = char(30, 30)",  # readable, but no features at all
        "unreadable": "data = 'x'",
    }
    for v in variants:
        (tmp_path / v).mkdir()
    configs = {v: make_config(tmp_path / v, [url]) for v in variants}
    clock = Clock(T0)
    for step in range(3):
        route.body, route.etag = rss(items[: 20 * (step + 1)]), f'"v{step}"'
        for variant, damage in variants.items():
            if damage:
                with open_store(configs[variant]) as store:
                    store.conn.execute(f"UPDATE story_features SET {damage}")
            poll(configs[variant], analyzer, clock)
        clock.now += timedelta(hours=8)
    stories = {}
    for variant, config in configs.items():
        with open_store(config) as store:
            stories[variant] = {s.entry.id: s.story for s in store.export_entries()}
            relevant = {s.entry.id for s in store.export_entries() if s.relevant}
            stored = dict(
                store.conn.execute("SELECT entry_id, digest FROM story_features").fetchall()
            )
            assert set(stored) == relevant and len(relevant) > 10
            assert "stale" not in stored.values()
    assert stories["kept"] == stories["stale"] == stories["unreadable"]
    assert len(set(stories["kept"].values()) - {None}) < len(relevant)  # some reports joined


def test_every_304_is_recorded_across_batches(
    tmp_path: Path, server: FeedServer, analyzer: Analyzer
) -> None:
    """304s are written in batches of UNCHANGED_BATCH: a run of more than one batch, with an
    error among them, still records each feed's check and keeps the error's backoff."""
    feeds = UNCHANGED_BATCH + 6
    urls = [server.add(f"/{i}.xml", body=rss(TALKS[:1]), etag=f'"e{i}"') for i in range(feeds)]
    config = make_config(tmp_path, urls)
    clock = Clock(T0)
    poll(config, analyzer, clock)
    server.route("/3.xml").status = 500
    clock.now += timedelta(minutes=30)
    summary = poll(config, analyzer, clock)
    assert sorted(by_name(summary).values()).count("not_modified") == feeds - 1
    with open_store(config) as store:
        states = {f.name: f for f in store.feed_states()}
    assert {n for n, f in states.items() if f.last_success == clock.now} == {
        f"Feed {i}" for i in range(feeds) if i != 3
    }
    assert states["Feed 3"].consecutive_failures == 1 and states["Feed 3"].last_success == T0
