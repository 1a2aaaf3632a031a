"""Digest rendering: golden files for fixed days, escaping of hostile feed text, determinism.

Golden files live in tests/golden/; regenerate them with
`UPDATE_GOLDEN=1 pytest tests/test_digest*.py` and review the diff before committing.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from monitor.digest import (
    DigestDay,
    Position,
    md_link,
    md_text,
    plain_text,
    render_html,
    render_markdown,
    safe_url,
)
from monitor.models import Claim, Entry, FeedState, StoredClaim, StoredEntry

GOLDEN = Path(__file__).parent / "golden"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def entry(
    eid: str,
    title: str,
    seen: datetime,
    *,
    feeds: tuple[str, ...] = ("Wire",),
    url: str | None = None,
    summary: str = "",
    story: str | None = None,
    claims: tuple[StoredClaim, ...] = (),
) -> StoredEntry:
    e = Entry(
        id=eid,
        feed_key=eid,
        url=url if url is not None else f"https://news.example/{eid}",
        title=title,
        summary=summary,
        content="",
        published=seen,
        updated=None,
        lang="en",
    )
    return StoredEntry(e, feeds, seen, True, 0.9, story, claims)


def claim(
    actor: str,
    stance: str,
    issue: str,
    detail: str,
    evidence: str,
    first: datetime,
    *,
    new: bool,
    target: str | None = None,
) -> StoredClaim:
    return StoredClaim(Claim(actor, stance, issue, target, detail, evidence), first, new)


FEEDS = (
    FeedState(url="https://wire.example/rss", name="Wire", entries=120, consecutive_failures=0),
    FeedState(
        url="https://broken.example/feed.xml",
        name="Broken Daily",
        last_error="HTTP 503 Service Unavailable",
        error_since=utc(2025, 5, 30, 4, 0),
        consecutive_failures=7,
    ),
    FeedState(url="https://old.example/rss", name="Old Herald", gone=True, last_error="HTTP 410"),
)

POSITIONS = (
    Position(
        "russia",
        "territory",
        "demand",
        "withdraw:donetsk,luhansk",
        utc(2025, 6, 2, 9, 0),
        "Russia demanded that Ukraine withdraw from Donetsk and Luhansk.",
        "https://tass.example/1",
    ),
    Position(
        "ukraine",
        "ceasefire",
        "demand",
        "full:30d",
        utc(2025, 3, 11, 12, 0),
        "Ukraine backed a 30-day ceasefire.",
        None,
    ),
    Position(
        "ukraine",
        "territory",
        "rejection",
        "withdraw:donetsk",
        utc(2025, 6, 1, 20, 0),
        "Zelensky said troops will not leave Donbas.",
        "https://ukr.example/2",
    ),
)


def normal_day() -> DigestDay:
    withdraw = "Russia demanded that Ukraine withdraw from Donetsk and Luhansk."
    children = "Ukraine handed Russia a list of children who must be returned."
    return DigestDay(
        day=date(2025, 6, 2),
        timezone="Europe/Kyiv",
        entries=(
            entry(
                "e1",
                "Russia hands over memorandum in Istanbul",
                utc(2025, 6, 2, 9, 0),
                feeds=("TASS",),
                url="https://tass.example/1",
                story="s-memo",
                claims=(
                    claim(
                        "russia",
                        "demand",
                        "territory",
                        "withdraw:donetsk,luhansk",
                        withdraw,
                        utc(2025, 6, 2, 9, 0),
                        new=True,
                        target="ukraine",
                    ),
                    claim(
                        "russia",
                        "demand",
                        "nato",
                        "",
                        "Russia insists Ukraine stay out of NATO.",
                        utc(2024, 6, 14, 10, 0),
                        new=False,
                        target="ukraine",
                    ),
                ),
            ),
            entry(
                "e2",
                "Russia's memorandum demands withdrawal, reports say",
                utc(2025, 6, 2, 9, 30),
                feeds=("Reuters", "Yahoo News"),
                url="https://reuters.example/2",
                story="s-memo",
                claims=(
                    claim(
                        "russia",
                        "demand",
                        "territory",
                        "withdraw:donetsk,luhansk",
                        withdraw + " (rewrite)",
                        utc(2025, 6, 2, 9, 30),
                        new=True,
                        target="ukraine",
                    ),
                ),
            ),
            entry(
                "e3",
                "Ukraine passes list of abducted children",
                utc(2025, 6, 2, 12, 15),
                feeds=("UNN",),
                story="s-kids",
                claims=(
                    claim(
                        "ukraine",
                        "demand",
                        "children",
                        "return:list",
                        children,
                        utc(2025, 6, 2, 12, 15),
                        new=True,
                        target="russia",
                    ),
                ),
            ),
            entry(
                "e4",
                "Talks in Istanbul last about an hour",
                utc(2025, 6, 2, 20, 45),  # 23:45 in Kyiv: still 2 June there
                feeds=("Interfax",),
                story=None,
            ),
        ),
        sources={
            "e2": (
                ("Reuters", "https://reuters.example/2"),
                ("Yahoo News", "https://yahoo.example/reuters-2"),
            ),
        },
        total_seen=41,
        positions=POSITIONS,
        feeds=FEEDS,
    )


def dst_day(day: date, times: list[datetime]) -> DigestDay:
    entries = tuple(
        entry(
            f"d{i}",
            f"Report {i}",
            t,
            story=f"s-{i}",
            claims=(
                claim("ukraine", "concession", "prisoners", f"swap:{i}", f"Swap {i}.", t, new=True),
            ),
        )
        for i, t in enumerate(times)
    )
    return DigestDay(day, "Europe/Kyiv", entries, total_seen=len(entries), feeds=FEEDS[:1])


def spring_dst_day() -> DigestDay:
    # 2025-03-30 in Kyiv: 03:00 EET jumps to 04:00 EEST (01:00 UTC).
    return dst_day(
        date(2025, 3, 30),
        [utc(2025, 3, 29, 22, 0), utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 1, 30)],
    )


def autumn_dst_day() -> DigestDay:
    # 2025-10-26 in Kyiv: 04:00 EEST falls back to 03:00 EET (01:00 UTC); 03:30 happens twice.
    return dst_day(
        date(2025, 10, 26),
        [utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30), utc(2025, 10, 26, 21, 59)],
    )


def empty_day() -> DigestDay:
    return DigestDay(date(2025, 6, 3), "Europe/Kyiv", (), total_seen=12, feeds=FEEDS)


def wire_day(copies: int = 100) -> DigestDay:
    text = "Putin demands Ukraine withdraw from Donetsk as Trump prepares to host Zelensky"
    claims_ = (
        ("russia", "demand", "territory", "withdraw:donetsk"),
        ("russia", "demand", "nato", "no_membership"),
    )
    entries = tuple(
        entry(
            f"w{i:03d}",
            text + ("" if i % 3 else " - update"),
            utc(2025, 8, 18, 6, 0) + timedelta(minutes=i),
            feeds=(f"Outlet {i:03d}",),
            url=f"https://outlet{i:03d}.example/putin-donetsk",
            story="s-wire",
            claims=tuple(
                claim(
                    a,
                    s,
                    iss,
                    d,
                    f"{text}.",
                    utc(2025, 8, 18, 6, 0) + timedelta(minutes=i),
                    new=True,
                )
                for a, s, iss, d in claims_
            ),
        )
        for i in range(copies)
    )
    return DigestDay(date(2025, 8, 18), "Europe/Kyiv", entries, total_seen=copies, feeds=FEEDS[:1])


HOSTILE_STRINGS = (
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "![img](http://evil.example/i.png)",
    "# heading",
    "| a | b |\n|---|---|\n| c | d |",
    "`code` and ```fence```",
    "\x1b[31mred\x1b[0m and \x1b]8;;http://evil.example\x07osc\x1b]8;;\x07",
    "*em* __strong__ ~~strike~~ <b>bold</b> &lt;img src=x&gt; &#60;script&#62;",
    "line one\n\n    indented code\n> quote\n- item\n1. item\n---\n===",
    "<http://autolink.example> http://bare.example www.bare.example a@b.example",
    "[ref]: http://evil.example\n[ref]",
    "\u202egnp.exe\u202c zero\u200bwidth \x00nul \r\n crlf",
    "A" * 5000,
    "\\ backslash at the end \\",
    "<!-- comment --> <?php ?> <![CDATA[x]]>",
)
HOSTILE_URLS = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    'http://ok.example/a(b)c d?q=<x>&y="z"',
    "https://ok.example/path)](javascript:alert(1))",
    "vbscript:x",
    "//no-scheme.example",
    "http:///nohost",
    "https://ok.example/\nnewline",
    None,
)


def hostile_day() -> DigestDay:
    entries = []
    for i, s in enumerate(HOSTILE_STRINGS):
        url = HOSTILE_URLS[i % len(HOSTILE_URLS)]
        entries.append(
            entry(
                f"h{i}",
                s,
                utc(2025, 6, 2, 10, i),
                feeds=(s[:80],),
                url=url,
                summary=s,
                story=f"s-{s[:20]}",
                claims=(
                    claim("russia", "demand", "other", s, s, utc(2025, 6, 2, 10, i), new=True),
                ),
            )
        )
    feed = FeedState(
        url="javascript:alert(1)",
        name=HOSTILE_STRINGS[0],
        last_error=HOSTILE_STRINGS[4],
        consecutive_failures=1,
        error_since=utc(2025, 6, 2, 1, 0),
    )
    return DigestDay(
        date(2025, 6, 2),
        "Europe/Kyiv",
        tuple(entries),
        sources={
            "h0": tuple((s[:50], u) for s, u in zip(HOSTILE_STRINGS, HOSTILE_URLS, strict=False))
        },
        total_seen=len(entries),
        positions=(
            Position(
                "russia",
                "other",
                HOSTILE_STRINGS[4],
                HOSTILE_STRINGS[2],
                utc(2025, 6, 2, 0, 0),
                HOSTILE_STRINGS[0],
                HOSTILE_URLS[0],
            ),
        ),
        feeds=(feed, *FEEDS),
    )


DAYS = {
    "normal": normal_day,
    "dst-spring": spring_dst_day,
    "dst-autumn": autumn_dst_day,
    "empty": empty_day,
    "wire-100": wire_day,
    "hostile": hostile_day,
}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("name", sorted(DAYS))
def test_markdown_golden(name: str) -> None:
    check_golden(f"digest-{name}.md", render_markdown(DAYS[name]()))


@pytest.mark.parametrize("name", ["normal", "hostile"])
def test_html_golden(name: str) -> None:
    check_golden(f"digest-{name}.html", render_html(DAYS[name]()))


@pytest.mark.parametrize("name", sorted(DAYS))
def test_rerender_is_byte_identical(name: str) -> None:
    assert render_markdown(DAYS[name]()) == render_markdown(DAYS[name]())
    assert render_html(DAYS[name]()) == render_html(DAYS[name]())


# --- escaping ------------------------------------------------------------------------------

COMMONMARK = MarkdownIt("commonmark").enable("table").enable("strikethrough")
ALLOWED_TAGS = {
    "h1",
    "h2",
    "p",
    "ul",
    "li",
    "strong",
    "a",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def _cm_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


PUNCT_FUZZ = ["".join(chr(33 + (i * 7 + j * 13) % 94) for j in range(40)) for i in range(200)]


@pytest.mark.parametrize("s", HOSTILE_STRINGS + tuple(PUNCT_FUZZ))
def test_md_text_renders_as_exactly_the_text(s: str) -> None:
    # The strongest property: whatever the input, CommonMark shows the cleaned text verbatim.
    assert COMMONMARK.renderInline(md_text(s, 10_000)) == _cm_escape(plain_text(s, 10_000))
    # ... also at the start of a block, where headings, lists, quotes and code start.
    rendered = COMMONMARK.render(md_text(s, 10_000))
    assert rendered == f"<p>{_cm_escape(plain_text(s, 10_000))}</p>\n" or not plain_text(s, 10_000)


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("a\nb\r\nc\td", 100, "a b c d"),
        ("\x1b[31mred\x1b[0m", 100, "red"),
        ("\x1b]8;;http://x\x07link\x1b]8;;\x07", 100, "link"),
        ("\u202eevil\u202c", 100, "evil"),
        ("nul\x00byte", 100, "nul byte"),
        ("x" * 20, 10, "x" * 9 + "…"),
        ("  spaced   out  ", 100, "spaced out"),
    ],
)
def test_plain_text(raw: str, limit: int, expected: str) -> None:
    assert plain_text(raw, limit) == expected


def test_md_text_caps_length_before_escaping() -> None:
    out = md_text("*" * 1000, 300)
    assert out == "\\*" * 299 + "…"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ok.example/a", "https://ok.example/a"),
        ("HTTP://ok.example/a?b=c&d=e#f", "HTTP://ok.example/a?b=c&d=e#f"),
        ("http://ok.example/a(b) c", "http://ok.example/a%28b%29%20c"),
        ('http://ok.example/<x>"', "http://ok.example/%3Cx%3E%22"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,x", None),
        ("//no-scheme.example/", None),
        ("http:///nohost", None),
        ("https://ok.example/\nx", None),
        ("", None),
        (None, None),
        ("https://ok.example/" + "a" * 3000, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_md_link() -> None:
    assert md_link("Reuters", "https://r.example/x(1)") == "[Reuters](https://r.example/x%281%29)"
    assert md_link("[evil](x)", "javascript:alert(1)") == "\\[evil\\]\\(x\\)"
    assert md_link("", "https://r.example/") == "[link](https://r.example/)"


def _tags(out: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)", out)}


@pytest.mark.parametrize("name", sorted(DAYS))
def test_commonmark_shows_only_our_markup(name: str) -> None:
    day = DAYS[name]()
    out = COMMONMARK.render(render_markdown(day))
    assert _tags(out) <= ALLOWED_TAGS
    assert out.count("<h1>") == 1
    headings = re.findall(r"<h2>(.*?)</h2>", out)
    assert set(headings) <= {
        "Newly reported demands and concessions",
        "Positions reported again",
        "Stories of the day",
        "Where each side stands",
        "Feed health",
    }
    assert out.count("<table>") == (1 if day.positions else 0)
    for href in re.findall(r'<a href="([^"]*)"', out):
        assert re.match(r"https?://", href, re.I), href
    assert out.count("<a ") == len(re.findall(r'<a href="https?://', out))


def test_hostile_day_survives_commonmark() -> None:
    out = COMMONMARK.render(render_markdown(hostile_day()))
    assert "<script" not in out and "<img" not in out and "<code" not in out
    assert "javascript:" not in re.sub(
        r"%28javascript:", "", " ".join(re.findall(r'href="[^"]*"', out))
    )
    assert "\x1b" not in out and "\u202e" not in out
    # every new claim appears once; the list has exactly our items and no injected ones
    day = hostile_day()
    assert out.count("<strong>NEW</strong>") == len(day.entries)
    first_ul = out.split("<ul>")[1].split("</ul>")[0]
    assert first_ul.count("<li>") == len(day.entries)
    # the positions table has our five columns and one row
    table = out.split("<table>")[1].split("</table>")[0]
    assert table.count("<tr>") == 2 and table.count("<td>") == 5
    assert "A" * 500 not in out and "A" * 499 + "…" in out  # long strings are capped


def test_hostile_html_page_is_escaped() -> None:
    out = render_html(hostile_day())
    assert _tags(out) <= ALLOWED_TAGS | {"html", "head", "meta", "title", "style", "body"}
    assert "<script" not in out.lower() and "<img" not in out.lower()
    for a in re.findall(r"<a [^>]*>", out):
        assert re.fullmatch(r'<a href="https?://[^"<>\s]*" rel="noopener nofollow">', a, re.I), a
    assert "\x1b" not in out


# --- content ------------------------------------------------------------------------------


def test_each_new_claim_once_among_a_hundred_wire_copies() -> None:
    out = render_markdown(wire_day(100))
    assert out.count("**NEW**") == 2
    assert "and 90 more" in out
    stories = out.split("## Stories of the day")[1].split("##")[0]
    assert stories.count("\n- ") == 1 and "(100 reports," in stories


def test_normal_day_sections_in_order() -> None:
    out = render_markdown(normal_day())
    order = [
        "# Talks monitor digest: 2025-06-02",
        "## Newly reported demands and concessions",
        "## Positions reported again",
        "## Stories of the day",
        "## Where each side stands",
        "## Feed health",
    ]
    positions = [out.index(h) for h in order]
    assert positions == sorted(positions)
    assert out.count("withdraw:donetsk,luhansk\\\n") == 1  # one claim, two entries
    # the repeated claim is shown with its first report date, not as new
    assert "Russia demand · nato (first reported 2024-06-14)" in out
    # the story carried by two entries and three sightings comes first
    stories = out.split("## Stories of the day")[1]
    assert stories.index("memorandum in Istanbul") < stories.index("abducted children")
    assert "(3 reports, first 12:00 EEST)" in stories
    # 20:45 UTC is 23:45 in Kyiv, still the same day
    assert "first 23:45 EEST" in stories


def test_dst_days_show_local_times() -> None:
    spring = render_markdown(spring_dst_day())
    assert "first seen 00:00 EET" in spring and "02:30 EET" in spring and "04:30 EEST" in spring
    autumn = render_markdown(autumn_dst_day())
    assert "03:30 EEST" in autumn and "03:30 EET" in autumn and "23:59 EET" in autumn


def test_empty_day_says_so_and_shows_feed_health() -> None:
    out = render_markdown(empty_day())
    assert "Nothing relevant to the negotiations was first seen on this day." in out
    assert (
        "**[Broken Daily](https://broken.example/feed.xml)** failing (7 failures in a row)" in out
    )
    assert "since 2025-05-30 07:00 EEST: HTTP 503 Service Unavailable" in out
    assert "gone (410)" in out
