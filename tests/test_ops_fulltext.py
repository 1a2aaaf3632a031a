"""Full text: article pages fetched politely, extracted, cached in SQLite, never fetched twice.

The page cache is the real store (table `pages`) on a real database file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.fulltext import (
    MAX_ATTEMPTS,
    TEASER_CHARS,
    cached_full_texts,
    fetch_full_texts,
    needs_full_text,
    with_full_text,
)
from monitor.models import Entry, Settings
from monitor.store import Store
from tests.feedserver import FeedServer

pytest.importorskip("trafilatura")

T = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

ARTICLE = (
    "<!doctype html><html><head><title>Talks</title></head><body>"
    "<nav>Home | World | Sport | Subscribe</nav>"
    "<article><h1>Delegations meet in Istanbul</h1>"
    + "".join(
        f"<p>Paragraph {i}: the Ukrainian delegation said on Monday that it was ready to discuss "
        "a ceasefire along the current line of contact, while Russia repeated its demand that "
        "Kyiv withdraw from the Donetsk region before any agreement.</p>"
        for i in range(6)
    )
    + "</article><footer>Cookie settings · Privacy · Contact us</footer></body></html>"
).encode()


def entry(n: int, url: str | None, content: str = "Teaser.") -> Entry:
    return Entry(f"id-{n}", f"k{n}", url, f"Title {n}", "", content, T, None, "en")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Store]:
    pages = Store(tmp_path / "pages.db")
    yield pages
    pages.close()


def settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {"total_timeout": 5.0, **changes}
    return Settings(tmp_path / "m.db", tmp_path / "d", **values)  # type: ignore[arg-type]


def run(entries: Sequence[Entry], tmp_path: Path, cache: Store, **s: object) -> dict[str, str]:
    return asyncio.run(fetch_full_texts(entries, settings(tmp_path, **s), cache, now=T))


HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_fetches_extracts_and_never_fetches_a_page_twice(
    tmp_path: Path, server: FeedServer, cache: Store
) -> None:
    url = server.add("/a", body=ARTICLE, headers=HTML)
    texts = run([entry(1, url), entry(2, url)], tmp_path, cache)
    assert set(texts) == {"id-1", "id-2"}
    text = texts["id-1"]
    assert text.startswith("Delegations meet in Istanbul Paragraph 0: the Ukrainian delegation")
    assert "Donetsk" in text and "Paragraph 5" in text
    assert "Subscribe" not in text and "Cookie settings" not in text
    assert len(server.requests_for("/a")) == 1
    assert server.requests_for("/a")[0].headers["user-agent"].startswith("talks-monitor/")
    # A later run, and a reopened database, use the cache.
    assert run([entry(3, url)], tmp_path, cache) == {"id-3": text}
    with Store(tmp_path / "pages.db") as reopened:
        assert cached_full_texts([entry(4, url), entry(5, None)], reopened) == {"id-4": text}
    assert len(server.requests_for("/a")) == 1


def test_failures_are_retried_a_few_times_then_given_up(
    tmp_path: Path, server: FeedServer, cache: Store
) -> None:
    flaky = server.add("/flaky", status=503)
    gone = server.add("/gone", status=404)
    for _ in range(MAX_ATTEMPTS + 2):
        assert run([entry(1, flaky), entry(2, gone)], tmp_path, cache) == {}
    assert len(server.requests_for("/flaky")) == MAX_ATTEMPTS
    assert len(server.requests_for("/gone")) == 1  # retrying a 404 cannot help
    page = cache.pages([flaky])[flaky]
    assert (page.status, page.attempts, page.error) == (
        "error",
        MAX_ATTEMPTS,
        "HTTP 503 Service Unavailable",
    )


def test_a_page_that_comes_back_after_a_failure_is_used(
    tmp_path: Path, server: FeedServer, cache: Store
) -> None:
    url = server.add("/later", status=500)
    assert run([entry(1, url)], tmp_path, cache) == {}
    server.route("/later").status = 200
    server.route("/later").body = ARTICLE
    server.route("/later").headers = HTML
    assert "Paragraph 0" in run([entry(1, url)], tmp_path, cache)["id-1"]
    assert cache.pages([url])[url].attempts == 2


def test_pages_without_article_text(tmp_path: Path, server: FeedServer, cache: Store) -> None:
    pdf = server.add("/doc.pdf", body=b"%PDF-1.4 ...", headers={"Content-Type": "application/pdf"})
    empty = server.add("/empty", body=b"<html><body><p>Subscribe!</p></body></html>", headers=HTML)
    assert run([entry(1, pdf), entry(2, empty)], tmp_path, cache) == {}
    pages = cache.pages([pdf, empty])
    assert (pages[pdf].status, pages[pdf].error) == ("empty", "not an HTML page (application/pdf)")
    assert (pages[empty].status, pages[empty].error) == ("empty", "no article text found")
    run([entry(1, pdf), entry(2, empty)], tmp_path, cache)
    assert len(server.requests) == 2  # settled: not fetched again


def test_the_fetch_limits_apply(tmp_path: Path, server: FeedServer, cache: Store) -> None:
    big = server.add("/big", body=ARTICLE, headers=HTML)
    slow = server.add("/slow", body=ARTICLE, headers=HTML, delay=3)
    texts = run(
        [entry(1, big), entry(2, slow)], tmp_path, cache, max_feed_bytes=1024, total_timeout=1
    )
    assert texts == {}
    pages = cache.pages([big, slow])
    assert pages[big].error == "body larger than 1 KB"
    assert pages[slow].error == "timeout after 1s"


def test_only_teasers_with_web_links_are_fetched(
    tmp_path: Path, server: FeedServer, cache: Store
) -> None:
    url = server.add("/a", body=ARTICLE, headers=HTML)
    long = entry(1, url, content="x" * TEASER_CHARS)
    assert not needs_full_text(long)
    assert not needs_full_text(entry(2, None))
    assert not needs_full_text(entry(3, "javascript:alert(1)"))
    assert needs_full_text(entry(4, url))
    assert run([long, entry(2, None)], tmp_path, cache) == {}
    assert server.requests == []


def test_with_full_text_only_ever_adds() -> None:
    teaser = entry(1, "https://a.example/1", content="Short teaser.")
    full = with_full_text(teaser, "A much longer article text than the teaser.")
    assert full.content == "A much longer article text than the teaser."
    assert (full.id, full.title, full.url) == (teaser.id, teaser.title, teaser.url)
    assert with_full_text(teaser, "Short") is teaser
