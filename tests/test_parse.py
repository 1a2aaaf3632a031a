"""Tests of monitor.parse against small fixture feeds in tests/data/feeds (no network)."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from monitor import fastfeed
from monitor.models import Entry, ParsedFeed
from monitor.parse import (
    MAX_TITLE,
    _fast_reader_for,
    _memo_safe_absolute_uri,
    _safe_absolute_uri,
    canonical_url,
    entry_key,
    html_to_text,
    normalise_lang,
    parse_feed,
)
from tests.corpus import data_files

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
RSS = {"content-type": "application/rss+xml"}
ATOM = {"content-type": "application/atom+xml"}
JSON_FEED = {"content-type": "application/feed+json"}


def parse_fixture(name: str, headers: dict[str, str], **kwargs: str) -> ParsedFeed:
    feed_url = kwargs.pop("feed_url", f"https://feeds.example.org/{name}")
    return parse_feed((FEEDS / name).read_bytes(), headers, feed_url=feed_url, **kwargs)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- whole documents -------------------------------------------------------------------------


def test_rss20() -> None:
    feed = parse_fixture("rss20.xml", RSS)
    assert (feed.title, feed.link, feed.lang, feed.problem) == (
        "Peace & Talks Wire",
        "https://wire.example.org/",
        "en",
        None,
    )
    first, second = feed.entries
    assert first.feed_key == "wire-1001"
    assert first.id == sha16("g:https://feeds.example.org/rss20.xml\nwire-1001")
    assert first.url == "https://wire.example.org/2025/05/16/istanbul?id=7"
    assert first.title == "Delegations meet in Istanbul"
    assert first.summary == "Russia and Ukraine held direct talks."
    assert first.content == "Full text: Russia and Ukraine held direct talks."
    assert first.author == "Jane Reporter"
    assert first.published == utc(2025, 5, 16, 9, 30)
    assert first.updated is None  # RSS has no update date; never copied from pubDate
    assert first.lang == "en"
    # A relative link resolves against the feed URL and becomes the key and the id.
    assert second.url == "https://feeds.example.org/2025/05/17/exchange"
    assert second.feed_key == second.url
    assert second.id == sha16("u:https://feeds.example.org/2025/05/17/exchange")


def test_atom_with_xml_base_and_xml_lang() -> None:
    feed = parse_fixture("atom.xml", ATOM)
    assert (feed.title, feed.link, feed.lang, feed.problem) == (
        "Новини переговорів",
        "https://atom.example.org/",
        "uk",
        None,
    )
    first, second = feed.entries
    assert first.url == "https://atom.example.org/news/item-1.html"  # xml:base of the feed
    assert first.id == sha16("u:https://atom.example.org/news/item-1.html")  # URL guid
    assert first.published == utc(2025, 6, 2, 6, 0)
    assert first.updated == utc(2025, 6, 2, 7, 0)
    assert (first.summary, first.content) == ("Коротко про зустріч.", "")  # same text once
    assert (first.author, first.lang) == ("Олена", "uk")
    assert second.url == "https://other.example.org/en/talks.html"  # the entry's own xml:base
    assert second.lang == "en"  # entry xml:lang beats the feed's
    assert second.summary == "Both sides met."  # xhtml content, block tags keep words apart
    assert second.feed_key == "tag:atom.example.org,2025:2"


def test_rdf() -> None:
    feed = parse_fixture("rdf.xml", {"content-type": "application/rdf+xml"})
    assert (feed.title, feed.lang, feed.problem) == ("RDF news", "de", None)
    assert [e.title for e in feed.entries] == ["Waffenruhe verkündet", "Gespräche in Genf"]
    assert [e.url for e in feed.entries] == [
        "https://rdf.example.org/a",
        "https://rdf.example.org/b",
    ]
    assert feed.entries[0].updated == utc(2025, 3, 11, 17, 0)
    assert (feed.entries[1].published, feed.entries[1].updated) == (None, None)


def test_json_feed_10() -> None:
    feed = parse_fixture("jsonfeed10.json", JSON_FEED)
    assert (feed.title, feed.link, feed.problem) == (
        "JSON & news",
        "https://json.example.org/",
        None,
    )
    first, second = feed.entries
    assert first.feed_key == "17"  # a numeric 1.0 id is kept as its decimal text
    assert first.url == "https://json.example.org/17"
    assert (first.title, first.summary, first.content) == (
        "Ceasefire talks",
        "Short.",
        "Envoys met.",
    )
    assert first.published == utc(2025, 5, 16, 9, 30)
    assert first.author == "Ann"
    assert second.url == "https://elsewhere.example.org/story"  # external_url when no url
    assert second.content == "Plain text body"
    assert second.published == utc(2025, 5, 16, 10, 0)
    assert second.updated is None  # "yesterday"


def test_json_feed_11_authors_and_languages() -> None:
    feed = parse_fixture("jsonfeed11.json", {"content-type": "application/json"})
    assert (feed.lang, feed.problem) == ("ru", None)
    first, second = feed.entries
    assert first.id == sha16("u:https://json.example.org/a")
    assert first.url is None  # an id is not a link
    assert first.author == "Иван, Пётр"
    assert first.lang == "uk"
    assert first.published == utc(2025, 5, 16, 10, 0)  # no offset: taken as UTC
    assert second.lang == "ru"


def test_json_feed_sniffed_without_json_content_type() -> None:
    feed = parse_fixture("jsonfeed11.json", {"content-type": "text/plain"})
    assert feed.problem is None
    assert len(feed.entries) == 2


def test_json_feed_wrong_types() -> None:
    feed = parse_fixture("jsonfeed-wrong-types.json", JSON_FEED)
    assert feed.problem == "invalid JSON Feed: language is not a string"
    assert feed.title == ""
    # The string item is not an item, and the item whose every field has the wrong type has
    # nothing to store (no id, title, text or link): only the good one remains.
    (good,) = feed.entries
    assert (good.feed_key, good.title, good.content) == ("ok", "Fine", "Fine text")


def test_json_feed_truncated_keeps_complete_items() -> None:
    feed = parse_fixture("jsonfeed-truncated.json", JSON_FEED)
    assert feed.problem is not None and feed.problem.startswith("invalid JSON Feed: Unterminated")
    assert feed.title == "Cut"
    assert [(e.feed_key, e.title) for e in feed.entries] == [("1", "First"), ("2", "Second")]


def test_windows_1251_declared_only_in_http_header() -> None:
    headers = {"Content-Type": "application/rss+xml; charset=windows-1251"}
    feed = parse_fixture("cp1251-header-only.xml", headers)
    assert feed.problem is None
    assert feed.title == "Новости"
    assert (feed.entries[0].title, feed.entries[0].summary) == (
        "Переговоры в Стамбуле",
        "Делегации встретились",
    )
    # Without the header the bytes are not UTF-8: the Cyrillic cannot come out right.
    assert parse_fixture("cp1251-header-only.xml", RSS).entries[0].title != "Переговоры в Стамбуле"


def test_truncated_xml_keeps_items_before_the_break() -> None:
    feed = parse_fixture("truncated.xml", RSS)
    assert feed.problem == "not well-formed XML at line 6: no element found"
    assert [e.title for e in feed.entries[:2]] == ["One", "Two"]
    assert feed.entries[1].url == "https://cut.example.org/2"


HTML_PAGE = (FEEDS / "notafeed.html").read_bytes()
GZIPPED = gzip.compress((FEEDS / "rss20.xml").read_bytes())
JSON_ITEMS_DICT = b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}'


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (HTML_PAGE, {"content-type": "text/html"}, "not a feed (HTML page)"),
        (HTML_PAGE, RSS, "not a feed (HTML page)"),
        (GZIPPED, RSS, "gzip-compressed body served without Content-Encoding"),
        (b"", RSS, "empty document"),
        (b"  \n", RSS, "empty document"),
        (b"<?xml version='1.0'?><catalog/>", RSS, "not a feed (no RSS, Atom or RDF root element)"),
        (JSON_ITEMS_DICT, JSON_FEED, "invalid JSON Feed: items is a dict, not an array"),
        (b'{"title": "x", "items": []}', JSON_FEED, "invalid JSON Feed: no jsonfeed.org version"),
        (b"[1, 2]", JSON_FEED, "invalid JSON Feed: top level is a list, not an object"),
        (b"[" * 100_000, JSON_FEED, "invalid JSON Feed: top level is a dict, not an object"),
    ],
)  # fmt: skip
def test_unusable_documents_give_no_entries_and_a_problem(
    body: bytes, headers: dict[str, str], problem: str
) -> None:
    feed = parse_feed(body, headers, feed_url="https://feeds.example.org/x")
    if problem.endswith("top level is a dict, not an object"):  # deep nesting: decoder gives up
        assert feed.problem is not None and feed.problem.startswith("invalid JSON Feed:")
    else:
        assert feed.problem == problem
    assert feed.entries == ()


def test_empty_valid_feed_is_not_a_problem() -> None:
    feed = parse_fixture("empty.xml", RSS)
    assert (feed.title, feed.entries, feed.problem) == ("Quiet feed", (), None)


def test_xml_served_as_json_is_parsed_as_xml() -> None:
    feed = parse_fixture("rss20.xml", JSON_FEED)
    assert feed.problem is None
    assert len(feed.entries) == 2


def test_fallback_language_from_argument() -> None:
    feed = parse_fixture("sameguid.xml", RSS, lang="uk-UA")
    assert feed.lang == "uk"
    assert {e.lang for e in feed.entries} == {"uk"}
    assert parse_fixture("rss20.xml", RSS, lang="de").lang == "en"  # the feed's own wins


def test_content_language_header_is_honoured() -> None:
    feed = parse_fixture("sameguid.xml", {**RSS, "Content-Language": "ru"})
    assert {e.lang for e in feed.entries} == {"ru"}


# --- ids -------------------------------------------------------------------------------------


def test_distinct_guids_with_one_link_stay_distinct_and_texts_without_keys_too() -> None:
    feed = parse_fixture("sameguid.xml", RSS)
    assert [e.feed_key for e in feed.entries[:2]] == ["live-1", "live-2"]
    assert {e.url for e in feed.entries[:2]} == {"https://live.example.org/blog"}
    assert len({e.id for e in feed.entries}) == 4


def test_same_guid_in_two_feeds_differs_same_url_guid_agrees() -> None:
    a = parse_fixture("sameguid.xml", RSS, feed_url="https://a.example.org/feed")
    b = parse_fixture("sameguid.xml", RSS, feed_url="https://b.example.org/feed")
    assert a.entries[0].feed_key == b.entries[0].feed_key == "live-1"
    assert a.entries[0].id != b.entries[0].id  # "live-1" is only unique within a feed
    assert a.entries[2].id != b.entries[2].id  # hashed keys too
    atom_a = parse_fixture("atom.xml", ATOM, feed_url="https://a.example.org/feed")
    atom_b = parse_fixture("atom.xml", ATOM, feed_url="https://b.example.org/feed")
    assert atom_a.entries[0].id == atom_b.entries[0].id  # the guid is the article's URL


def test_identical_keyless_items_are_one_item_and_never_merged_in_parse() -> None:
    feed = parse_fixture("messy.xml", RSS)
    assert len(feed.entries) == 4  # dedup is the store's job
    assert feed.entries[1].id == feed.entries[3].id
    assert feed.entries[0].id != feed.entries[1].id


@pytest.mark.parametrize(
    ("args", "expected_basis", "expected_key"),
    [
        (("F", "HTTPS://Ex.org/a?utm_source=x#f", None, "", "", ""), "u:https://ex.org/a", "HTTPS://Ex.org/a?utm_source=x#f"),
        (("F", " g-1 ", "https://ex.org/a", "t", "", ""), "g:F\ng-1", "g-1"),
        (("F", None, "https://ex.org/a?fbclid=1", "t", "", ""), "u:https://ex.org/a", "https://ex.org/a"),
        (("F", "", "https://ex.org/a", "t", "", ""), "u:https://ex.org/a", "https://ex.org/a"),
        (("F", "urn:x", None, "t", "", ""), "g:F\nurn:x", "urn:x"),
        (("https://f.example/rss", None, "b/c", "t", "", ""), "u:https://f.example/b/c", "https://f.example/b/c"),
    ],
)  # fmt: skip
def test_entry_key_rules(
    args: tuple[str, str | None, str | None, str, str, str], expected_basis: str, expected_key: str
) -> None:
    assert entry_key(*args) == (sha16(expected_basis), expected_key)


def test_entry_key_hash_fallback() -> None:
    entry_id, key = entry_key("F", None, "javascript:x()", "t", "s", "c")
    assert key.startswith("sha256:") and len(key) == 7 + 64
    assert entry_id == sha16("h:F\n" + key.removeprefix("sha256:"))
    assert entry_key("F", None, "javascript:y()", "t", "s", "c")[1] != key  # raw link counts
    assert (
        entry_key("F", None, None, "t s", "", "c")[1]
        != entry_key("F", None, None, "t", "s", "c")[1]
    )
    assert entry_key("F", None, None, "t", "s", "c") == entry_key("F", None, None, "t", "s", "c")


# --- text ------------------------------------------------------------------------------------


def test_html_in_titles_entities_and_script() -> None:
    entry = parse_fixture("messy.xml", RSS).entries[0]
    assert entry.title == 'Talks & ceasefire "now"'
    # &#133; in HTML is the windows-1252 ellipsis (HTML5 character-reference rules).
    assert entry.summary == "Tab and newline and nbsp and U+0085 … end"


def test_control_characters_are_removed_from_every_field() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "a\\u0000b", "items": [{"id":'
        b' "x\\u0007", "title": "T\\u0001i\\u007ftle\\ud800", "summary": "s\\u001b[31m",'
        b' "content_text": "c\\u0085\\u009f", "authors": [{"name": "N\\u0000"}]}]}'
    )
    feed = parse_feed(body, JSON_FEED, feed_url="https://feeds.example.org/j")
    entry = feed.entries[0]
    assert (feed.title, entry.title, entry.summary, entry.content, entry.author) == (
        "ab",
        "Title",
        "s[31m",
        "c",
        "N",
    )


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>two</p>", "One two"),
        ("a<br>b<br/>c", "a b c"),
        ("<b>Ta</b>lks", "Talks"),
        ("x <script>var a = '<p>no</p>';</script> y", "x y"),
        ("<style>p{}</style><noscript>enable js</noscript>z", "z"),
        ("&lt;not a tag&gt; &amp;amp; &eacute;&#8211;&#x41;", "<not a tag> &amp; é–A"),
        ("<a href='javascript:alert(1)' onclick='x()'>link</a>", "link"),
        ("<p>cut <b>off</b> <i", "cut off <i"),  # html.parser keeps an unfinished tag as text
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_plain_text_titles_keep_lone_angle_brackets_and_ampersands() -> None:
    body = (
        b"<rss version='2.0'><channel><title>x</title><item><title>a &lt; b &amp;&amp; AT&amp;T"
        b"</title></item></channel></rss>"
    )
    feed = parse_feed(body, RSS, feed_url="https://feeds.example.org/x")
    assert feed.entries[0].title == "a < b && AT&T"


def test_long_fields_are_capped() -> None:
    title = "word " * 1_000
    body = f"<rss version='2.0'><channel><item><title>{title}</title></item></channel></rss>"
    entry = parse_feed(body.encode(), RSS, feed_url="https://feeds.example.org/x").entries[0]
    assert len(entry.title) == MAX_TITLE
    assert entry.title.endswith("…")


# --- dates -----------------------------------------------------------------------------------


def test_bad_and_absurd_dates_become_none() -> None:
    entries = parse_fixture("messy.xml", RSS).entries
    assert [e.published for e in entries] == [None, None, None, None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-05-16T12:30:00+03:00", utc(2025, 5, 16, 9, 30)),
        ("2025-05-16T12:30:00z", utc(2025, 5, 16, 12, 30)),
        ("2025-05-16", utc(2025, 5, 16)),
        ("Fri, 16 May 2025 12:30:00 +0300", utc(2025, 5, 16, 9, 30)),
        ("1989-12-31T23:59:59Z", None),
        ("2101-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00+14:00", None),
        ("16/05/2025", None),
        ("", None),
    ],
)
def test_json_feed_dates(value: str, expected: datetime | None) -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "date_published": "'
        + value.encode()
        + b'"}]}'
    )
    entry = parse_feed(body, JSON_FEED, feed_url="https://feeds.example.org/j").entries[0]
    assert entry.published == expected
    assert entry.published is None or entry.published.tzinfo is UTC


# --- URLs and languages ----------------------------------------------------------------------


TRACKED = (
    "/p?q=1&fbclid=z&gclid=1&mc_cid=2&mc_eid=3&igshid=4&_ga=5&ref_src=6&cmpid=7&ocid=8"
    "&at_medium=9&at_campaign=10&dclid=11&msclkid=12&yclid=13&UTM_Medium=14&utm%5Fterm=15"
    "&z=%C3%A9"
)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTPS://News.Example.ORG:443/a/b?x=1&utm_source=rss&y=2#frag", None, "https://news.example.org/a/b?x=1&y=2"),
        ("http://example.org:80", None, "http://example.org/"),
        ("http://example.org:8080/p", None, "http://example.org:8080/p"),
        (TRACKED, "https://ex.org/feed", "https://ex.org/p?q=1&z=%C3%A9"),
        ("b?z=2&a=1", "https://ex.org/x/feed", "https://ex.org/x/b?z=2&a=1"),
        ("  https://ex.org/a\n b  ", None, "https://ex.org/a b"),
        ("javascript:alert(1)", "https://ex.org/", None),
        ("mailto:a@ex.org", None, None),
        ("ftp://ex.org/f", None, None),
        ("//ex.org/p", "https://base.org/", "https://ex.org/p"),
        ("https://пример.рф/статья", None, "https://xn--e1afmkfd.xn--p1ai/статья"),
        ("https://[::1]:8443/x", None, "https://[::1]:8443/x"),
        ("https://ex.org:99999/", None, None),
        ("https://[bad/", None, None),
        ("https://", None, None),
        ("https://ex.org/a\x00b", None, None),
        ("relative/only", None, None),
        ("", "https://ex.org/", None),
        (None, "https://ex.org/", None),
        ("https://user:pw@Ex.org/", None, "https://user:pw@ex.org/"),
        ("https://Пример...рф/", None, "https://пример...рф/"),  # not IDNA-encodable: kept
    ],
)  # fmt: skip
def test_canonical_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://ex.org/a/b",
        "https://ex.org/",
        "http://1.2.3.4/x?a=1&b=2;c",
        "http://ex.org/%7Ea?q=%20&r",
        "https://ex.org/../a/./b",
        "https://ex.org//a",
        "https://ex.org/p?a=1&utm_source=x",
        "https://ex.org/p?a=1&&b=2",
        "https://ex.org/p?",
        "https://ex.org/p;",
        "https://ex.org/p;x=1",
        "https://ex.org/p#f",
        "https://ex.org:443/p",
        "https://Ex.org/p",
    ],
)
@pytest.mark.parametrize(
    "base", [None, "https://ex.org/feed", "http://other.example/x/", "https://[bad/"]
)
def test_canonical_url_shortcut_agrees_with_the_full_parse(url: str, base: str | None) -> None:
    """A URL already in canonical form skips the full parse; a leading space forces it."""
    assert canonical_url(url, base) == canonical_url(" " + url, base)


@pytest.mark.parametrize(
    "text",
    ["AT&amp;T", "&lt;b&gt; &notit; &not &#0; &#x110000; &#128; &", "a&amp", "x" * 40 + "&amp"],
)
def test_html_to_text_without_markup_decodes_as_html_parser_does(text: str) -> None:
    """Text with no tag skips html.parser; a tag that adds no text forces it."""
    assert html_to_text(text) == html_to_text("<b></b>" + text)


def test_hostile_content_location_is_not_a_base() -> None:
    headers = {**RSS, "Content-Location": "javascript:alert('unsafe')"}
    feed = parse_fixture("rss20.xml", headers)
    assert feed.entries[1].url == "https://feeds.example.org/2025/05/17/exchange"
    moved = parse_fixture("rss20.xml", {**RSS, "Content-Location": "/moved/feed.xml"})
    assert moved.entries[1].url == "https://feeds.example.org/2025/05/17/exchange"
    elsewhere = {**RSS, "Content-Location": "https://mirror.example.net/x/feed"}
    assert parse_fixture("rss20.xml", elsewhere).entries[1].url == (
        "https://mirror.example.net/2025/05/17/exchange"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("en-US", "en"), ("uk-UA", "uk"), ("RU", "ru"), ("pt_BR", "pt"), (" de ", "de"),
     ("fil", "fil"), ("english", None), ("", None), ("x-klingon", None), (5, None), (None, None)],
)  # fmt: skip
def test_normalise_lang(value: object, expected: str | None) -> None:
    assert normalise_lang(value) == expected


# --- robustness ------------------------------------------------------------------------------


def test_never_fetches_a_path_or_url_given_as_body(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes((FEEDS / "rss20.xml").read_bytes())
    for body in (str(secret).encode(), b"https://127.0.0.1:1/feed.xml"):
        feed = parse_feed(body, RSS, feed_url="https://feeds.example.org/x")
        assert feed.entries == ()
        assert feed.problem is not None


def test_deterministic() -> None:
    for name, headers in (("rss20.xml", RSS), ("atom.xml", ATOM), ("jsonfeed10.json", JSON_FEED)):
        assert parse_fixture(name, headers) == parse_fixture(name, headers)


@pytest.mark.parametrize("cut", range(0, 1_080, 37))
def test_any_prefix_of_a_feed_parses_without_raising(cut: int) -> None:
    for name in ("rss20.xml", "atom.xml", "jsonfeed10.json"):
        body = (FEEDS / name).read_bytes()[:cut]
        feed = parse_feed(body, {}, feed_url="https://feeds.example.org/x")
        assert all(isinstance(e, Entry) and e.id for e in feed.entries)
        assert feed.problem is not None or len(body) == len((FEEDS / name).read_bytes())


_XML_BASE_FILES = [p for p in data_files() if b"xml:base" in p.read_bytes()]


@pytest.mark.skipif(not _XML_BASE_FILES, reason="the shared corpus is absent")
def test_memoised_base_uri_gives_feedparsers_own_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """feedparser's per-tag base-URI join is memoised; on every corpus document that sets
    `xml:base`, the parse is the same as with feedparser's own function."""

    def parse_all() -> list[ParsedFeed]:
        return [
            parse_feed(p.read_bytes(), {}, feed_url="http://example.com/feeds/x.xml")
            for p in _XML_BASE_FILES
        ]

    memoised = parse_all()
    monkeypatch.setattr(feedparser.mixin, "make_safe_absolute_uri", _safe_absolute_uri)
    assert parse_all() == memoised


def test_long_base_uris_are_not_memoised() -> None:
    base = "http://example.com/" + "a" * 5000 + "/"
    doc = (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}"><title>t</title>'
        '<entry><id>x</id><title>Talks</title><link href="n/1"/></entry></feed>'
    ).encode()
    _memo_safe_absolute_uri.cache_clear()
    parsed = parse_feed(doc, {}, feed_url="http://example.com/feed")
    assert parsed.entries[0].url == base + "n/1"
    assert _memo_safe_absolute_uri.cache_info().currsize == 0


# --- the fast RSS path (monitor.fastfeed; its equivalence is proved in test_fastfeed.py) ------


def test_ordinary_rss_does_not_go_through_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = parse_fixture("rss20.xml", RSS)

    def no_feedparser(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser was called")

    monkeypatch.setattr(feedparser, "parse", no_feedparser)
    assert parse_fixture("rss20.xml", RSS) == expected
    # Atom is declined: feedparser reads it (here, fails, and parse_feed says so).
    assert (parse_fixture("atom.xml", ATOM).problem or "").startswith("feedparser failed")


def test_a_fast_path_failure_falls_back_to_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = parse_fixture("rss20.xml", RSS)

    def broken(body: bytes, headers: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(fastfeed, "parse", broken)
    assert parse_fixture("rss20.xml", RSS) == expected


def test_the_fast_path_runs_only_under_the_feedparser_release_it_reproduces() -> None:
    assert _fast_reader_for(feedparser.__version__) is fastfeed
    assert _fast_reader_for("6.0.99") is None
