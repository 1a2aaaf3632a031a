"""Feed management: round-trip edits of feeds.yaml, feed discovery, `monitor feeds ...`."""

from __future__ import annotations

import asyncio
import difflib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError, FetchError, UsageError
from monitor.feeds_admin import (
    FeedsFile,
    NewFeed,
    discover_feed_links,
    find_feed,
    guess_indent,
    same_url,
)
from monitor.fetch import Fetcher
from monitor.models import Settings
from tests.feedserver import FeedServer
from tests.ops_helpers import REPO, monitor, write_commented
from tests.rss import TALKS, rss


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def settings(tmp_path: Path) -> Settings:
    return Settings(database=tmp_path / "m.db", digests_dir=tmp_path / "d", total_timeout=5)


def diff(before: str, after: str) -> list[str]:
    """Only the changed lines, marked + or -."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# --- editing feeds.yaml --------------------------------------------------------------------


def test_add_appends_only_the_new_item_and_keeps_every_comment(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    before = path.read_text()
    edit = FeedsFile(path)
    name = edit.add(NewFeed("https://c.example/rss", title="Feed C", lang="uk", full_text=True))
    edit.save()
    after = path.read_text()
    assert name == "Feed C"
    assert diff(before, after) == [
        "+  - url: https://c.example/rss",
        "+    name: Feed C",
        "+    lang: uk",
        "+    full_text: true",
    ]
    assert [f.name for f in load_config(path).feeds] == ["Feed A", "Feed B", "Feed C"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("settings:\n  timezone: UTC\nfeeds:\n  - url: x\n    name: y\n", (2, 4, 2)),
        ("settings:\n    timezone: UTC\nfeeds:\n- url: x\n  name: y\n", (4, 2, 0)),
        ("feeds:\n    -   url: x\n        name: y\n", (2, 8, 4)),
        ("# only a comment\n", (2, 4, 2)),
    ],
)
def test_guess_indent_reads_the_users_style(text: str, expected: tuple[int, int, int]) -> None:
    assert guess_indent(text) == expected


def test_add_keeps_a_flush_left_list_style(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "settings:\n    timezone: UTC  # four spaces here\nfeeds:\n- url: https://a.example/f\n"
        "  name: A\n",
        encoding="utf-8",
    )
    before = path.read_text()
    edit = FeedsFile(path)
    edit.add(NewFeed("https://b.example/f", name="B"))
    edit.save()
    assert diff(before, path.read_text()) == ["+- url: https://b.example/f", "+  name: B"]


def test_the_repository_feeds_yaml_round_trips_unchanged() -> None:
    text = (REPO / "feeds.yaml").read_text(encoding="utf-8")
    edit = FeedsFile(REPO / "feeds.yaml")
    edit.add(NewFeed("https://new.example/rss", title="New"))
    assert diff(text, edit.render()) == ["+  - url: https://new.example/rss", "+    name: New"]


def test_remove_takes_the_items_lines_and_keeps_the_next_items_comments(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  # A: first\n"
        "  - url: https://a.example/f\n"
        "    name: A  # end of A\n"
        "  # B: the comment ruamel attaches to A's last key\n"
        "  - url: https://b.example/f\n"
        "    name: B\n"
        "  # C: last\n"
        "  - url: https://c.example/f\n"
        "    name: C\n"
        "# trailer\n",
        encoding="utf-8",
    )
    before = path.read_text()
    for url in ("https://a.example/f", "https://c.example/f"):
        edit = FeedsFile(path)
        edit.remove(url)
        edit.save()
    assert diff(before, path.read_text()) == [
        "-  - url: https://a.example/f",
        "-    name: A  # end of A",
        "-  - url: https://c.example/f",
        "-    name: C",
    ]
    assert [f.url for f in load_config(path).feeds] == ["https://b.example/f"]


def test_duplicates_are_refused_however_spelled(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    edit = FeedsFile(path)
    with pytest.raises(UsageError, match=r"already follows https://a\.example/feed"):
        edit.add(NewFeed("HTTPS://A.Example/feed/"))
    with pytest.raises(UsageError, match="already named 'Feed B'"):
        edit.add(NewFeed("https://z.example/feed", name="Feed B"))
    assert same_url("https://a.example:8080/x?q=1", "https://A.EXAMPLE:8080/x/?q=1")
    assert not same_url("https://a.example/x?q=1", "https://a.example/x?q=2")


def test_names_are_made_unique(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    edit = FeedsFile(path)
    assert edit.add(NewFeed("https://c.example/x", title="Feed A")) == "Feed A (c.example)"
    assert edit.add(NewFeed("https://c.example/y", title="Feed A")) == "Feed A (2)"
    assert edit.add(NewFeed("https://d.example/z", title="")) == "d.example"
    edit.save()
    assert len(load_config(path).feeds) == 5


def test_an_edit_that_would_break_the_file_is_refused_and_the_file_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/f\n", encoding="utf-8")
    before = path.read_bytes()
    edit = FeedsFile(path)
    edit.remove("https://a.example/f")
    with pytest.raises(ConfigError) as caught:
        edit.save()
    assert caught.value.problems[0] == f"{path}: not changed: the edit would make it invalid"
    assert any("no feeds listed" in p and str(path) in p for p in caught.value.problems)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]  # no temp file left


def test_save_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    os.chmod(path, 0o600)  # it may hold notification passwords
    edit = FeedsFile(path)
    edit.add(NewFeed("https://c.example/f", name="C"))
    edit.save()
    assert path.stat().st_mode & 0o777 == 0o600


def test_remove_of_an_unknown_feed_is_a_usage_error(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    with pytest.raises(UsageError, match=r"does not follow https://x\.example/"):
        FeedsFile(path).remove("https://x.example/")


# --- discovery -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<link rel="alternate" type="application/rss+xml" href="/rss.xml">',
            ["https://site.example/rss.xml"],
        ),
        (
            '<LINK REL="Alternate Feed" TYPE="application/atom+xml; charset=utf-8" '
            'HREF="atom.xml"/><link rel=alternate type=application/feed+json href=feed.json>',
            ["https://site.example/news/atom.xml", "https://site.example/news/feed.json"],
        ),
        (
            '<base href="https://cdn.example/x/"><link rel="alternate" '
            'type="application/rss+xml" href="f.xml">',
            ["https://cdn.example/x/f.xml"],
        ),
        ('<link rel="stylesheet" type="text/css" href="a.css">', []),
        ('<link rel="alternate" type="text/html" href="/en/">', []),
        ('<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">', []),
        ('<link rel="alternate" type="application/rss+xml" href="ftp://x/f">', []),
    ],
)
def test_discover_feed_links(html: str, expected: list[str]) -> None:
    assert discover_feed_links(html, "https://site.example/news/") == expected


def run_find(tmp_path: Path, url: str) -> object:
    async def go() -> object:
        async with Fetcher(settings(tmp_path)) as fetcher:
            return await find_feed(fetcher, url)

    return asyncio.run(go())


def page(*links: str) -> bytes:
    heads = "".join(f'<link rel="alternate" type="application/rss+xml" href="{h}">' for h in links)
    return f"<!doctype html><html><head>{heads}</head><body>News</body></html>".encode()


def test_find_feed_given_a_feed(tmp_path: Path, server: FeedServer) -> None:
    url = server.add("/rss", body=rss(TALKS), headers={"Content-Type": "application/rss+xml"})
    found = run_find(tmp_path, url)
    assert (found.url, found.title, found.entries, found.page) == (url, "Test feed", 3, None)  # type: ignore[attr-defined]


def test_find_feed_discovers_the_feed_of_a_page(tmp_path: Path, server: FeedServer) -> None:
    server.add("/broken.xml", status=404)
    feed = server.add("/feed.xml", body=rss(TALKS[:2]))
    home = server.add(
        "/", body=page("/broken.xml", "feed.xml"), headers={"Content-Type": "text/html"}
    )
    found = run_find(tmp_path, home)
    assert (found.url, found.entries, found.page) == (feed, 2, home)  # type: ignore[attr-defined]


def test_find_feed_errors_are_one_line(tmp_path: Path, server: FeedServer) -> None:
    missing = server.add("/gone", status=404)
    with pytest.raises(FetchError, match="HTTP 404"):
        run_find(tmp_path, missing)
    plain = server.add("/plain", body=page(), headers={"Content-Type": "text/html"})
    with pytest.raises(FetchError, match="no feed is linked from it"):
        run_find(tmp_path, plain)
    server.add("/bad.xml", body=b"<html>not a feed</html>", headers={"Content-Type": "text/html"})
    linked = server.add("/p", body=page("/bad.xml"), headers={"Content-Type": "text/html"})
    with pytest.raises(FetchError, match=r"links to do not work: .*/bad.xml: not a feed"):
        run_find(tmp_path, linked)


# --- the commands --------------------------------------------------------------------------


def test_cli_feeds_add_discovers_and_keeps_comments(tmp_path: Path, server: FeedServer) -> None:
    a = server.add("/a.xml", body=rss(TALKS))
    path = write_commented(tmp_path, a, server.url("/b.xml"))
    before = path.read_text()
    feed = server.add("/c/feed.xml", body=rss(TALKS[:1]))
    home = server.add("/c/", body=page("feed.xml"), headers={"Content-Type": "text/html"})
    done = monitor(path, "feeds", "add", home, "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert f"found the feed of {home}: {feed}" in done.stdout
    assert "added Test feed" in done.stdout and "1 entries now" in done.stdout
    assert diff(before, path.read_text()) == [
        f"+  - url: {feed}",
        "+    name: Test feed",
        "+    lang: en",
    ]
    again = monitor(path, "feeds", "add", feed)
    assert again.returncode == 2
    assert again.stderr.strip() == f"monitor: {path}: already follows {feed}"
    listed = monitor(path, "feeds", "list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        f"Feed A  <{a}>  en",
        f"Feed B  <{server.url('/b.xml')}>  -",
        f"Test feed  <{feed}>  en",
        f"3 feeds (3 enabled) in {path}",
    ]


def test_cli_feeds_add_refuses_what_is_not_a_feed(tmp_path: Path, server: FeedServer) -> None:
    path = write_commented(tmp_path, server.url("/a"), server.url("/b"))
    before = path.read_bytes()
    missing = server.add("/nothing", status=404)
    done = monitor(path, "feeds", "add", missing)
    assert done.returncode == 1
    assert done.stderr.strip() == f"monitor: {missing}: HTTP 404 Not Found"
    bad_lang = monitor(path, "feeds", "add", missing, "--lang", "english!")
    assert bad_lang.returncode == 2 and "--lang" in bad_lang.stderr
    assert path.read_bytes() == before


def test_cli_feeds_remove(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    done = monitor(path, "feeds", "remove", "https://a.example/feed")
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert "https://a.example/feed" not in text
    assert "# My feeds: a comment at the top" in text and "# a comment at the very end" in text
    assert "# Feed B: described above its item." in text
    missing = monitor(path, "feeds", "remove", "https://a.example/feed")
    assert missing.returncode == 2 and "does not follow" in missing.stderr


def test_cli_feeds_check_reports_each_feed_and_exits_0(tmp_path: Path, server: FeedServer) -> None:
    good = server.add("/good.xml", body=rss(TALKS))
    bad = server.add("/bad.xml", status=500)
    html = server.add("/page", body=page(), headers={"Content-Type": "text/html"})
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "settings:\n  total_timeout: 5s\nfeeds:\n"
        f"  - url: {good}\n    name: Good\n"
        f"  - url: {bad}\n    name: Bad\n"
        f"  - url: {html}\n    name: Html\n"
        f"  - url: {server.url('/off')}\n    name: Off\n    enabled: false\n",
        encoding="utf-8",
    )
    done = monitor(path, "feeds", "check")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"ok        Good  <{good}>\n          3 entries in" in out
    assert f"FAILING   Bad  <{bad}>\n          HTTP 500 Internal Server Error" in out
    assert f"NOT FEED  Html  <{html}>\n          not a feed (HTML page)" in out
    assert "not fetched" in out and not server.requests_for("/off")
    assert out.splitlines()[-1] == "checked 3 feeds: 1 ok, 2 failing, 1 disabled (not fetched)"
