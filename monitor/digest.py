"""The daily digest, rendered from a `DigestDay`: pure, deterministic, no I/O, no clock.

`render_markdown` and `render_html` share one builder (`_build`) that walks the day once and
asks a small formatter for each piece, so the two renderings cannot drift apart. Every string
that came from a feed is untrusted: the Markdown formatter passes it through `md_text` /
`md_link`, the HTML one through `html.escape`, and only http(s) links are ever written.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from monitor.models import ACTORS, ISSUES, STANCES, FeedState, StoredClaim, StoredEntry

# --- input records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """The latest reported stance of an actor on an issue (for "where each side stands")."""

    actor: str
    issue: str
    stance: str
    detail: str
    reported: datetime
    evidence: str
    url: str | None


@dataclass(frozen=True)
class DigestDay:
    """Everything one digest shows; built by the store, rendered here."""

    day: date
    timezone: str
    entries: tuple[StoredEntry, ...]  # relevant entries first seen that day in `timezone`
    # entry id -> (feed name, link) of every sighting; when absent, entry.feeds x entry.url
    sources: Mapping[str, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)
    total_seen: int = 0  # all entries first seen that day, relevant or not
    positions: tuple[Position, ...] = ()
    feeds: tuple[FeedState, ...] = ()


# --- limits: five minutes of reading --------------------------------------------------------

TITLE_LIMIT = 300
EVIDENCE_LIMIT = 500
DETAIL_LIMIT = 200
ERROR_LIMIT = 200
NAME_LIMIT = 100
URL_LIMIT = 2000
MAX_SOURCES = 10  # links per claim or story
MAX_REPEATED = 15
MAX_STORIES = 20

# --- escaping untrusted text ---------------------------------------------------------------

# ANSI/VT escape sequences (CSI, OSC, and two-byte ESC forms), and the 8-bit CSI.
_TERMINAL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Every ASCII punctuation character CommonMark/GFM gives a meaning to inline or at a line start.
# CommonMark lets any ASCII punctuation be backslash-escaped, so over-escaping is harmless.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&$])")
_BAD_IN_URL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # spaces are percent-encoded instead
_KEEP_FORMAT = {"\u200c", "\u200d"}  # ZWNJ/ZWJ are needed by some scripts; other Cf are not


def plain_text(s: str, limit: int) -> str:
    """Untrusted text as one clean line: no terminal escapes, controls, bidi or newlines.

    Cut to `limit` characters (an ellipsis marks the cut). Pure.
    """
    s = _TERMINAL.sub("", s)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp", "Zs"):
            out.append(" ")
        elif (cat == "Cf" and ch not in _KEEP_FORMAT) or cat in ("Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    s = " ".join("".join(out).split())
    if len(s) > limit:
        s = s[: max(limit - 1, 0)].rstrip() + "…"
    return s


def md_text(s: str, limit: int = TITLE_LIMIT) -> str:
    """Untrusted text as inline CommonMark that renders as exactly that text.

    No raw HTML, links, images, emphasis, code, headings, lists, tables or entities can survive:
    newlines are collapsed (so no block can start) and every significant punctuation character
    is backslash-escaped. `://` is broken up so GFM autolinking cannot turn text into a link.
    """
    return _MD_SPECIAL.sub(r"\\\1", plain_text(s, limit)).replace("://", "\\:/\\/")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe to put in a link destination or href, else None. Pure."""
    if not url:
        return None
    url = url.strip()
    if len(url) > URL_LIMIT or any(unicodedata.category(c) in _BAD_IN_URL for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # Percent-encode everything outside the RFC 3986 set, and parentheses, quotes, backslashes,
    # angle brackets and spaces, which end or confuse Markdown link destinations and attributes.
    return quote(url, safe="/:?#@!$&'*+,;=%-._~[]")


def md_link(text: str, url: str | None, limit: int = NAME_LIMIT) -> str:
    """`[text](url)` when url is a safe http(s) URL, else the escaped text alone."""
    label = md_text(text, limit) or "link"
    href = safe_url(url)
    return f"[{label}]({href})" if href else label


# --- the formatters --------------------------------------------------------------------------


class _Markdown:
    """CommonMark output. `t`/`a` take untrusted input; everything else takes our own markup."""

    def t(self, s: str, limit: int = TITLE_LIMIT) -> str:
        return md_text(s, limit)

    def a(self, text: str, url: str | None) -> str:
        return md_link(text, url)

    def b(self, inner: str) -> str:
        return f"**{inner}**" if inner else ""

    def q(self, inner: str) -> str:
        return f"“{inner}”"

    def h(self, level: int, inner: str) -> str:
        return f"{'#' * level} {inner}"

    def p(self, inner: str) -> str:
        return inner

    def ul(self, items: Sequence[str]) -> str:
        return "\n".join(f"- {i}" for i in items)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c or " " for c in row) + " |" for row in rows]
        return "\n".join(lines)

    def br(self) -> str:
        return "\\\n  "  # a hard line break (backslash form) continuing a list item

    def doc(self, title: str, blocks: Sequence[str]) -> str:
        return "\n\n".join(blocks) + "\n"


class _Html(_Markdown):
    """A standalone HTML page; feed strings go through `html.escape`."""

    def t(self, s: str, limit: int = TITLE_LIMIT) -> str:
        return html.escape(plain_text(s, limit), quote=True)

    def a(self, text: str, url: str | None) -> str:
        label = self.t(text, NAME_LIMIT) or "link"
        href = safe_url(url)
        if not href:
            return label
        return f'<a href="{html.escape(href, quote=True)}" rel="noopener nofollow">{label}</a>'

    def b(self, inner: str) -> str:
        return f"<strong>{inner}</strong>" if inner else ""

    def h(self, level: int, inner: str) -> str:
        return f"<h{level}>{inner}</h{level}>"

    def p(self, inner: str) -> str:
        return f"<p>{inner}</p>"

    def ul(self, items: Sequence[str]) -> str:
        return "<ul>\n" + "".join(f"<li>{i}</li>\n" for i in items) + "</ul>"

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        th = "".join(f"<th>{c}</th>" for c in head)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>\n" for r in rows)
        return f"<table>\n<thead><tr>{th}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"

    def br(self) -> str:
        return "<br>\n"

    def doc(self, title: str, blocks: Sequence[str]) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n"
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
            "</style>\n</head>\n<body>\n" + "\n".join(blocks) + "\n</body>\n</html>\n"
        )


def render_markdown(day: DigestDay) -> str:
    """The digest of `day` as CommonMark (GFM tables). Pure: same input, same bytes."""
    return _build(day, _Markdown())


def render_html(day: DigestDay) -> str:
    """The digest of `day` as a standalone HTML page. Pure: same input, same bytes."""
    return _build(day, _Html())


# --- what the digest shows ------------------------------------------------------------------

_ACTOR_NAMES = {"us": "US", "eu": "EU/Europe"}
_ORDER = {v: i for vocab in (ACTORS, STANCES, ISSUES) for i, v in enumerate(vocab)}
_Sighting = tuple[str, str | None]


def _actor(a: str | None) -> str:
    return _ACTOR_NAMES.get(a or "", (a or "").capitalize())


def _issue(i: str) -> str:
    return i.replace("_", " ")


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@dataclass(frozen=True)
class _ClaimGroup:
    key: tuple[str, str, str, str]
    first: StoredClaim  # the earliest report, whose evidence and target are shown
    first_seen: datetime
    sightings: tuple[_Sighting, ...]


@dataclass(frozen=True)
class _Story:
    sid: str
    lead: StoredEntry
    sightings: tuple[_Sighting, ...]
    entries: int


def _sightings(day: DigestDay, e: StoredEntry) -> tuple[_Sighting, ...]:
    given = day.sources.get(e.entry.id)
    if given:
        return tuple(given)
    return tuple((f, e.entry.url) for f in e.feeds) or (("(unknown feed)", e.entry.url),)


def _unique(items: Iterable[_Sighting]) -> tuple[_Sighting, ...]:
    return tuple(dict.fromkeys(items))


def _by_time(entries: Iterable[StoredEntry]) -> list[StoredEntry]:
    return sorted(entries, key=lambda e: (_utc(e.first_seen), e.entry.id))


def _claim_groups(day: DigestDay) -> tuple[list[_ClaimGroup], list[_ClaimGroup]]:
    """(newly reported, reported again): one group per claim key, however many entries carry it."""
    carried: dict[tuple[str, str, str, str], list[tuple[StoredEntry, StoredClaim]]] = {}
    for e in _by_time(day.entries):
        for sc in e.claims:
            carried.setdefault(sc.claim.key, []).append((e, sc))
    new: list[_ClaimGroup] = []
    again: list[_ClaimGroup] = []
    for key, pairs in carried.items():
        _, first_c = min(pairs, key=lambda p: (_utc(p[1].first_reported), p[0].entry.id))
        group = _ClaimGroup(
            key=key,
            first=first_c,
            first_seen=_utc(first_c.first_reported),
            sightings=_unique(s for e, _ in pairs for s in _sightings(day, e)),
        )
        # A key new in any of the day's entries is new for the day (all should agree).
        (new if any(sc.new for _, sc in pairs) else again).append(group)

    def order(g: _ClaimGroup) -> tuple[datetime, int, int, int, str]:
        a, s, i, d = g.key
        return (g.first_seen, _ORDER.get(a, 99), _ORDER.get(s, 99), _ORDER.get(i, 99), d)

    return sorted(new, key=order), sorted(again, key=order)


def _stories(day: DigestDay) -> list[_Story]:
    groups: dict[str, list[StoredEntry]] = {}
    for e in _by_time(day.entries):
        groups.setdefault(e.story or f"entry:{e.entry.id}", []).append(e)
    stories = [
        _Story(
            sid, members[0], _unique(s for m in members for s in _sightings(day, m)), len(members)
        )
        for sid, members in groups.items()
    ]
    # Most covered first; ties by the earliest report, then the id: total and deterministic.
    return sorted(
        stories,
        key=lambda s: (-len(s.sightings), -s.entries, _utc(s.lead.first_seen), s.sid),
    )


def _failing(feeds: Iterable[FeedState]) -> list[FeedState]:
    bad = [f for f in feeds if f.gone or f.consecutive_failures > 0]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(
        bad, key=lambda f: (_utc(f.error_since) if f.error_since else epoch, f.name, f.url)
    )


def _build(day: DigestDay, f: _Markdown) -> str:
    zone = ZoneInfo(day.timezone)

    def when(dt: datetime) -> str:
        local = _utc(dt).astimezone(zone)
        stamp = local.strftime("%H:%M %Z")
        return stamp if local.date() == day.day else local.strftime("%Y-%m-%d ") + stamp

    def links(sightings: Sequence[_Sighting]) -> str:
        shown = [f.a(name, url) for name, url in sightings[:MAX_SOURCES]]
        more = len(sightings) - MAX_SOURCES
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

    def capped(items: list[str], total: int, what: str) -> list[str]:
        return items + ([f"and {total - len(items)} more {what}"] if total > len(items) else [])

    new, again = _claim_groups(day)
    stories = _stories(day)
    failing = _failing(day.feeds)
    feeds_seen = {name for e in day.entries for name, _ in _sightings(day, e)}
    title = f"Talks monitor digest: {day.day.isoformat()}"
    blocks = [f.h(1, title)]

    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    blocks.append(
        f.p(
            f"{n(len(day.entries), 'relevant report', 'relevant reports')}"
            f" (of {max(day.total_seen, len(day.entries))} seen)"
            f" · {n(len(feeds_seen), 'source', 'sources')} · {n(len(stories), 'story', 'stories')}"
            f" · {f.b(n(len(new), 'newly reported position', 'newly reported positions'))}"
            f" · {n(len(failing), 'failing feed', 'failing feeds')}."
            f" Times in {f.t(day.timezone, NAME_LIMIT)}."
        )
    )
    if not day.entries:
        blocks.append(f.p("Nothing relevant to the negotiations was first seen on this day."))
    if new:
        blocks.append(f.h(2, "Newly reported demands and concessions"))
        items = []
        for g in new:
            c = g.first.claim
            target = f" → {f.t(_actor(c.target), NAME_LIMIT)}" if c.target else ""
            detail = f": {f.t(c.detail, DETAIL_LIMIT)}" if c.detail else ""
            head = (
                f"{f.b('NEW')} {f.b(f.t(_actor(c.actor), NAME_LIMIT))} {f.t(c.stance, NAME_LIMIT)}"
                f" · {f.t(_issue(c.issue), NAME_LIMIT)}{target}{detail}"
            )
            evidence = f.q(f.t(c.evidence, EVIDENCE_LIMIT))
            items.append(
                f"{head}{f.br()}{evidence}{f.br()}first seen {when(g.first_seen)} · "
                f"{links(g.sightings)}"
            )
        blocks.append(f.ul(items))
    if again:
        blocks.append(f.h(2, "Positions reported again"))
        items = []
        for g in again[:MAX_REPEATED]:
            c = g.first.claim
            detail = f": {f.t(c.detail, DETAIL_LIMIT)}" if c.detail else ""
            items.append(
                f"{f.t(_actor(c.actor), NAME_LIMIT)} {f.t(c.stance, NAME_LIMIT)}"
                f" · {f.t(_issue(c.issue), NAME_LIMIT)}{detail}"
                f" (first reported {g.first_seen.astimezone(zone).date().isoformat()})"
                f" · {links(g.sightings[:3])}"
            )
        blocks.append(f.ul(capped(items, len(again), "positions")))
    if stories:
        blocks.append(f.h(2, "Stories of the day"))
        items = []
        for s in stories[:MAX_STORIES]:
            lead = s.lead.entry
            count = n(len(s.sightings), "report", "reports")
            items.append(
                f"{f.b(f.t(lead.title or '(untitled)', TITLE_LIMIT))} ({count},"
                f" first {when(s.lead.first_seen)}){f.br()}{links(s.sightings)}"
            )
        blocks.append(f.ul(capped(items, len(stories), "stories")))
    if day.positions:
        blocks.append(f.h(2, "Where each side stands"))
        rows = []
        for p in sorted(
            day.positions,
            key=lambda p: (_ORDER.get(p.actor, 99), _ORDER.get(p.issue, 99), p.actor, p.issue),
        ):
            reported = _utc(p.reported).astimezone(zone).date().isoformat()
            rows.append(
                [
                    f.t(_actor(p.actor), NAME_LIMIT),
                    f.t(_issue(p.issue), NAME_LIMIT),
                    f.t(p.stance, NAME_LIMIT),
                    f.t(p.detail, DETAIL_LIMIT),
                    f.a(reported, p.url),
                ]
            )
        blocks.append(f.table(["Side", "Issue", "Latest stance", "Detail", "Reported"], rows))
    blocks.append(f.h(2, "Feed health"))
    if failing:
        items = []
        for fs in failing:
            name = f.a(fs.name or fs.url, fs.url)
            if fs.gone:
                state = "gone (410), no longer polled"
            else:
                state = f"failing ({n(fs.consecutive_failures, 'failure', 'failures')} in a row)"
            since = f" since {when(fs.error_since)}" if fs.error_since else ""
            why = f": {f.t(fs.last_error, ERROR_LIMIT)}" if fs.last_error else ""
            items.append(f"{f.b(name)} {state}{since}{why}")
        blocks.append(f.ul(items))
    healthy = len(day.feeds) - len(failing)
    blocks.append(f.p(f"{n(healthy, 'feed', 'feeds')} healthy of {len(day.feeds)}."))
    return f.doc(html.escape(title), blocks)
