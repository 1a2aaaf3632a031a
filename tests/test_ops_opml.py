"""OPML: export and import, nested outlines, hostile documents, and the commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import UsageError
from monitor.models import FeedConfig
from monitor.opml import MAX_OPML_BYTES, OpmlFeed, parse_opml, render_opml
from tests.ops_helpers import monitor, write_commented

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Ukraine" title="Ukraine">
      <outline type="rss" text="Ukrinform" xmlUrl="https://www.ukrinform.net/rss/block-lastnews"
               htmlUrl="https://www.ukrinform.net/"/>
      <outline text="Deeper">
        <outline type="rss" text="Kyiv Independent" title="The Kyiv Independent"
                 xmlUrl="https://kyivindependent.com/news-archive/rss/" language="EN"/>
      </outline>
    </outline>
    <outline type="rss" text="Meduza" xmlurl="https://meduza.io/rss/all" language="not a lang"/>
    <outline type="rss" text="Again" xmlUrl="https://meduza.io/rss/all"/>
    <outline type="rss" text="Local" xmlUrl="file:///etc/passwd"/>
    <outline type="rss" text="Paused" xmlUrl="https://paused.example/rss" isComment="true"/>
    <outline text="just a note"/>
  </body>
</opml>
"""


def test_parse_reads_nested_outlines_in_order() -> None:
    feeds, skipped = parse_opml(READER_EXPORT, "subs.opml")
    assert feeds == [
        OpmlFeed(
            "https://www.ukrinform.net/rss/block-lastnews",
            "Ukrinform",
            "https://www.ukrinform.net/",
        ),
        OpmlFeed(
            "https://kyivindependent.com/news-archive/rss/", "The Kyiv Independent", None, "en"
        ),
        OpmlFeed("https://meduza.io/rss/all", "Meduza"),
        OpmlFeed("https://paused.example/rss", "Paused", enabled=False),
    ]
    assert skipped == ["file:///etc/passwd: not an http(s) URL"]


def test_export_then_import_round_trips() -> None:
    feeds = (
        FeedConfig("https://a.example/rss", "A & B <news>", lang="uk"),
        FeedConfig("https://b.example/rss", "Off", enabled=False),
    )
    text = render_opml(
        feeds,
        now=NOW,
        titles={"https://a.example/rss": "A's own title"},
        links={
            "https://a.example/rss": "https://a.example/",
            "https://b.example/rss": "javascript:x",
        },
    )
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert "<dateCreated>Mon, 02 Jun 2025 08:00:00 +0000</dateCreated>" in text
    assert (
        '<outline type="rss" text="A &amp; B &lt;news&gt;" title="A\'s own title" '
        'xmlUrl="https://a.example/rss" htmlUrl="https://a.example/" language="uk" />'
    ) in text
    assert "javascript" not in text
    back, skipped = parse_opml(text.encode(), "x")
    assert skipped == []
    assert back == [
        OpmlFeed("https://a.example/rss", "A's own title", "https://a.example/", "uk"),
        OpmlFeed("https://b.example/rss", "Off", enabled=False),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><opml><body>'
            b'<outline text="&lol2;" xmlUrl="https://a.example/"/></body></opml>',
            "refused: the document declares a DOCTYPE or entities",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>',
            "refused: the document declares a DOCTYPE or entities",
        ),
        (b"<opml><body><outline", "not well-formed XML: unclosed token (line 1, column 12)"),
        (b"\x00\x01garbage", "not well-formed XML"),
        (b"", "not well-formed XML: no element found"),
        (b'<rss version="2.0"/>', "not OPML (the root element is <rss>)"),
        (b"<opml><head/></opml>", "not OPML (no <body>)"),
        (b"<opml>" + b" " * MAX_OPML_BYTES + b"</opml>", "larger than 5 MB"),
    ],
)
def test_hostile_or_invalid_documents_are_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_opml(data, "in.opml")
    assert str(caught.value).startswith("in.opml: ")
    assert message in str(caught.value)


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    depth = 50_000
    data = (
        b"<opml><body>"
        + b"<outline>" * depth
        + b'<outline xmlUrl="https://deep.example/rss" text="Deep"/>'
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    assert parse_opml(data, "x")[0] == [OpmlFeed("https://deep.example/rss", "Deep")]


def test_cli_export_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    out = monitor(path, "opml", "export")
    assert out.returncode == 0, out.stderr
    assert [f.url for f in parse_opml(out.stdout.encode(), "stdout")[0]] == [
        "https://a.example/feed",
        "https://b.example/feed",
    ]
    target = tmp_path / "subs.opml"
    done = monitor(path, "opml", "export", str(target))
    assert done.returncode == 0 and done.stdout == ""
    assert f"wrote 2 feeds to {target}" in done.stderr
    assert parse_opml(target.read_bytes(), "f")[0] == parse_opml(out.stdout.encode(), "s")[0]


def test_cli_import_adds_new_feeds_skips_duplicates_keeps_comments(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://meduza.io/rss/all", "https://b.example/feed")
    subs = tmp_path / "subs.opml"
    subs.write_bytes(READER_EXPORT)
    done = monitor(path, "opml", "import", str(subs))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"imported 3 feeds from {subs} into {path}; 1 already followed, 1 skipped; "
        "run `monitor feeds check` to see that they answer"
    )
    text = path.read_text()
    assert text.startswith("# My feeds: a comment at the top that must survive every edit.\n")
    assert "  timezone: UTC        # an end-of-line comment\n" in text
    feeds = load_config(path).feeds
    assert [(f.name, f.lang, f.enabled) for f in feeds] == [
        ("Feed A", "en", True),
        ("Feed B", None, True),
        ("Ukrinform", None, True),
        ("The Kyiv Independent", "en", True),
        ("Paused", None, False),
    ]
    again = monitor(path, "opml", "import", str(subs))
    assert again.returncode == 0
    assert "imported 0 feeds" in again.stdout and "4 already followed" in again.stdout


def test_cli_import_of_a_hostile_file_changes_nothing(tmp_path: Path) -> None:
    path = write_commented(tmp_path, "https://a.example/feed", "https://b.example/feed")
    before = path.read_bytes()
    bomb = tmp_path / "bomb.opml"
    bomb.write_bytes(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>')
    done = monitor(path, "opml", "import", str(bomb))
    assert done.returncode == 2
    assert done.stderr.startswith(f"monitor: {bomb}: refused: the document declares a DOCTYPE")
    missing = monitor(path, "opml", "import", str(tmp_path / "nope.opml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert path.read_bytes() == before
