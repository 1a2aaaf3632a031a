"""monitor.parse over every file of the shared robustness corpus (../shared/corpus).

Headers follow the corpus README: `Header:` lines for feedparser-tests files whose path contains
"http" (Content-type text/xml when none is given), and a content type by extension for
real-feeds. Invariants, not feedparser's exact output: no exception, one Entry per feedparser
entry, clean text, UTC datetimes. Skipped when ../shared is absent.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC
from pathlib import Path

import feedparser
import pytest

from monitor.parse import canonical_url, html_to_text, parse_feed
from tests.corpus import CORPUS, NOT_DATA, corpus_headers, data_files

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
FILES = data_files()


def test_corpus_is_complete() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    assert len(FILES) == 2_163  # the README's count: a missing file must not pass silently


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_corpus_file(path: Path) -> None:
    body = path.read_bytes()
    headers = corpus_headers(path.relative_to(CORPUS).as_posix(), body)
    feed_url = "http://127.0.0.1:8097/" + path.relative_to(CORPUS).as_posix()
    parsed = parse_feed(body, headers, feed_url=feed_url)

    assert parsed.problem is None or "\n" not in parsed.problem
    assert parsed.problem is None or not parsed.problem.startswith("feedparser failed")
    assert not _CONTROL.search(parsed.title)
    for entry in parsed.entries:
        assert re.fullmatch(r"[0-9a-f]{16}", entry.id)
        assert entry.feed_key
        for text in (entry.title, entry.summary, entry.content, entry.author):
            assert isinstance(text, str)
            assert not _CONTROL.search(text), text
        for when in (entry.published, entry.updated):
            assert when is None or when.tzinfo is UTC
        assert entry.url is None or entry.url.startswith(("http://", "https://"))
        assert entry.lang is None or re.fullmatch("[a-z]{2,3}", entry.lang)

    if path.suffix != ".json":
        expected = feedparser.parse(io.BytesIO(body), response_headers=headers).entries
        # Items with no id, title, text or link at all (a truncated document's last fragment)
        # are dropped by design; every other item feedparser reads becomes an entry.
        assert len(parsed.entries) == sum(1 for item in expected if _substantial(item))


def _substantial(item: dict[str, object]) -> bool:
    contents = item.get("content")
    content = contents[0].get("value", "") if isinstance(contents, list) and contents else ""
    guid = item.get("id")
    if isinstance(guid, str) and guid.strip():
        return True
    texts = (item.get("title"), item.get("summary"), content)
    if any(isinstance(t, str) and html_to_text(t).strip() for t in texts):
        return True
    link = item.get("link")
    return isinstance(link, str) and canonical_url(link, "https://x.example/") is not None


# Entry counts of the real-feeds JSON documents, read with json below where the JSON is valid.
JSON_FEEDS = {
    "rsparser__daringfireball.json": (48, None),
    "feedjira__json-feed-escaped-uris.json": (30, None),
    "feed-rs__jsonfeed-elastic-1.1.json": (3, None),
    "reader__jsonfeed-wrong-types.json": (8, "invalid JSON Feed: "),
    "rsparser__allthis-truncated.json": (2, "invalid JSON Feed: "),  # complete items salvaged
    "rsparser__scriptingnews.json": (
        0,
        "invalid JSON Feed: no jsonfeed.org version",
    ),  # RSS-in-JSON
}


@pytest.mark.parametrize(("name", "expected"), sorted(JSON_FEEDS.items()))
def test_real_json_feeds(name: str, expected: tuple[int, str | None]) -> None:
    path = CORPUS / "real-feeds" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    count, problem = expected
    body = path.read_bytes()
    parsed = parse_feed(
        body, {"content-type": "application/feed+json"}, feed_url="https://x.example/"
    )
    assert len(parsed.entries) == count
    if problem is None:
        assert parsed.problem is None
    else:
        assert parsed.problem is not None and parsed.problem.startswith(problem)
    try:
        document = json.loads(body)
    except ValueError:
        return  # truncated: nothing to compare with
    items = document.get("items", [])
    objects = [item for item in items if isinstance(item, dict)]
    assert len(parsed.entries) == len(objects)
    for item, entry in zip(objects, parsed.entries, strict=True):
        if isinstance(item.get("id"), str) and item["id"].strip():
            assert entry.feed_key == item["id"].strip()
        if (
            isinstance(item.get("title"), str)
            and "<" not in item["title"]
            and "&" not in item["title"]
        ):
            assert entry.title == " ".join(item["title"].split())


def test_real_feed_figures() -> None:
    """The whole real-feeds folder: totals that pin the parser's recovery behaviour."""
    folder = CORPUS / "real-feeds"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    total = 0
    problems = 0
    for path in sorted(p for p in folder.iterdir() if p.name not in NOT_DATA):
        body = path.read_bytes()
        parsed = parse_feed(
            body,
            corpus_headers(path.relative_to(CORPUS).as_posix(), body),
            feed_url="https://x.example/",
        )
        total += len(parsed.entries)
        problems += parsed.problem is not None
    # 1,137 XML entries (the MANIFEST baseline) + 91 JSON Feed items.
    assert (total, problems) == (1_228, 13)  # the 10 bozo XML files + 3 broken JSON
