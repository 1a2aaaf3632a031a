"""The digest writer: atomic files, index, Atom feed, byte-identical rewrites."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import feedparser
import pytest

from monitor.digest import render_html, render_markdown
from monitor.digest_files import day_end_utc, write_atomic, write_digest
from tests.test_digest import check_golden, empty_day, hostile_day, normal_day, spring_dst_day


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_writes_digest_index_and_feed(tmp_path: Path) -> None:
    out = tmp_path / "digests"
    path = write_digest(normal_day(), out, html=True)
    assert path == out / "2025-06-02.md"
    assert path.read_text(encoding="utf-8") == render_markdown(normal_day())
    assert (out / "2025-06-02.html").read_text(encoding="utf-8") == render_html(normal_day())
    write_digest(empty_day(), out)
    write_digest(spring_dst_day(), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "2025-03-30.md",
        "2025-06-02.html",
        "2025-06-02.md",
        "2025-06-03.md",
        "feed.xml",
        "index.md",
    ]
    check_golden("index.md", (out / "index.md").read_text(encoding="utf-8"))
    check_golden("feed.xml", (out / "feed.xml").read_text(encoding="utf-8"))


def test_rewrite_is_byte_identical(tmp_path: Path) -> None:
    write_digest(normal_day(), tmp_path, html=True)
    write_digest(empty_day(), tmp_path, html=True)
    first = _snapshot(tmp_path)
    write_digest(empty_day(), tmp_path, html=True)
    write_digest(normal_day(), tmp_path, html=True)
    assert _snapshot(tmp_path) == first


def test_index_lists_newest_first(tmp_path: Path) -> None:
    for day in (normal_day(), spring_dst_day(), empty_day()):
        write_digest(day, tmp_path)
    (tmp_path / "notes.md").write_text("not a digest")
    (tmp_path / "2025-13-40.md").write_text("not a date")
    lines = (tmp_path / "index.md").read_text().splitlines()
    assert lines[2:] == [
        "- [2025-06-03](2025-06-03.md)",
        "- [2025-06-02](2025-06-02.md)",
        "- [2025-03-30](2025-03-30.md)",
    ]


def test_feed_parses_without_bozo(tmp_path: Path) -> None:
    write_digest(hostile_day(), tmp_path, html=True)
    write_digest(
        normal_day().__class__(**{**normal_day().__dict__, "day": date(2025, 6, 1)}), tmp_path
    )
    # a hand-edited digest with a control character must not break the feed
    (tmp_path / "2025-05-01.md").write_text("# old\n\nbell \x07 <b>raw</b>\n", encoding="utf-8")
    write_digest(empty_day(), tmp_path)
    parsed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title == "Talks monitor digests"
    ids = [e.id for e in parsed.entries]
    assert ids == [
        "tag:talks-monitor,2025-06-03:digest",
        "tag:talks-monitor,2025-06-02:digest",
        "tag:talks-monitor,2025-06-01:digest",
        "tag:talks-monitor,2025-05-01:digest",
    ]
    hostile = parsed.entries[1]
    assert hostile.updated == "2025-06-02T21:00:00Z"  # midnight in Kyiv (EEST)
    body = hostile.content[0].value
    assert "<script" not in body and "<img" not in body
    assert "&lt;script&gt;" in body  # the hostile title is there, as text
    assert "<b>" not in parsed.entries[3].content[0].value


def test_day_end_is_dst_safe() -> None:
    assert day_end_utc(date(2025, 3, 30), "Europe/Kyiv").isoformat() == "2025-03-30T21:00:00+00:00"
    assert day_end_utc(date(2025, 10, 26), "Europe/Kyiv").isoformat() == "2025-10-26T22:00:00+00:00"


def test_atomic_writer_leaves_no_temp_files(tmp_path: Path) -> None:
    write_digest(normal_day(), tmp_path, html=True)
    write_digest(normal_day(), tmp_path, html=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_atomic_writer_keeps_old_file_when_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.md"
    target.write_text("old")

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.md"]


def test_atomic_writer_replaces(tmp_path: Path) -> None:
    target = tmp_path / "x.md"
    target.write_text("old")
    write_atomic(target, "néw\n")
    assert target.read_bytes() == "néw\n".encode()
