"""OPML 2.0 subscription lists, to and from any feed reader. Pure: text in, records out.

`render_opml` writes one `<outline type="rss">` per feed with `text`, `title`, `xmlUrl`,
`htmlUrl` (when known) and `language`; a disabled feed is written with `isComment="true"`, which
readers skip and `parse_opml` reads back as disabled. `parse_opml` reads nested outlines
(folders) at any depth and never expands entities: a document with a DOCTYPE (the carrier of
entity bombs and external entities) is refused outright, since OPML has no use for one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import NoReturn
from urllib.parse import urlsplit
from xml.parsers import expat

from monitor.errors import UsageError
from monitor.models import FeedConfig

__all__ = ["LANG_CODE", "MAX_OPML_BYTES", "OpmlFeed", "parse_opml", "render_opml"]

MAX_OPML_BYTES = 5 * 1024 * 1024  # a subscription list of a few thousand feeds is ~1 MB
LANG_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_MAX_TEXT = 200


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription read from an OPML file."""

    url: str
    title: str
    html_url: str | None = None
    lang: str | None = None
    enabled: bool = True


# --- export --------------------------------------------------------------------------------


def render_opml(
    feeds: Sequence[FeedConfig],
    *,
    now: datetime,
    titles: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    title: str = "Talks monitor feeds",
) -> str:
    """OPML 2.0 text listing `feeds` in order. Pure.

    `titles` and `links` map a feed URL to the feed's own title and web page, when known (from
    the database); the configured name is the outline's `text`.
    """
    titles = titles or {}
    links = links or {}
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    ET.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.name, "title": titles.get(feed.url) or feed.name}
        attrs["xmlUrl"] = feed.url
        link = links.get(feed.url)
        if link and urlsplit(link).scheme in ("http", "https"):
            attrs["htmlUrl"] = link
        if feed.lang:
            attrs["language"] = feed.lang
        if not feed.enabled:
            attrs["isComment"] = "true"
        ET.SubElement(body, "outline", {k: _xml_safe(v) for k, v in attrs.items()})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (a feed title may hold them)."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", text)


# --- import --------------------------------------------------------------------------------


def parse_opml(data: bytes, source: str) -> tuple[list[OpmlFeed], list[str]]:
    """Read an OPML document: (feeds with an http(s) xmlUrl, in document order; skipped notes).

    `source` names the file in messages. Raises UsageError, one line, for a document that is
    too large, not well-formed, carries a DOCTYPE or entity declarations, or is not OPML.
    Duplicates within the file are returned once.
    """
    if len(data) > MAX_OPML_BYTES:
        raise UsageError(f"{source}: larger than {MAX_OPML_BYTES // (1024 * 1024)} MB; not OPML")
    root = _parse_safely(data, source)
    if _local(root.tag) != "opml":
        raise UsageError(f"{source}: not OPML (the root element is <{_local(root.tag)}>)")
    body = next((c for c in root if _local(c.tag) == "body"), None)
    if body is None:
        raise UsageError(f"{source}: not OPML (no <body>)")
    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for outline in _outlines(body):
        attrs = {k.lower(): v.strip() for k, v in outline.attrib.items()}
        url = attrs.get("xmlurl")
        if not url:
            continue  # a folder, or a plain note
        label = _clean(attrs.get("title") or attrs.get("text") or "")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            skipped.append(f"{_clean(url)}: not an http(s) URL")
            continue
        if url in seen:
            continue
        seen.add(url)
        lang = attrs.get("language", "").lower() or None
        html = attrs.get("htmlurl") or None
        feeds.append(
            OpmlFeed(
                url=url,
                title=label,
                html_url=html if html and urlsplit(html).scheme in ("http", "https") else None,
                lang=lang if lang and LANG_CODE.match(lang) else None,
                enabled=attrs.get("iscomment", "").lower() != "true",
            )
        )
    return feeds, skipped


def _parse_safely(data: bytes, source: str) -> ET.Element:
    """Parse XML with expat into an ElementTree, refusing any DOCTYPE, entity declaration or
    external reference before expat could act on it."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_: object) -> NoReturn:
        raise _Forbidden

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(tag, attrs)

    def end(tag: str) -> None:
        builder.end(tag)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Forbidden:
        raise UsageError(
            f"{source}: refused: the document declares a DOCTYPE or entities, "
            "which OPML never needs (and which can be used to attack an XML parser)"
        ) from None
    except expat.ExpatError as e:
        raise UsageError(
            f"{source}: not well-formed XML: {expat.errors.messages[e.code]}"
            f" (line {e.lineno}, column {e.offset})"
        ) from None
    return builder.close()


class _Forbidden(Exception):
    pass


def _outlines(element: ET.Element) -> Iterator[ET.Element]:
    """Every <outline> below `element`, depth first, in document order (folders included).
    Iterative: a hostile file nested a million deep must not exhaust the stack."""
    return (e for e in element.iter() if e is not element and _local(e.tag) == "outline")


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _clean(text: str) -> str:
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", text)
    return " ".join(text.split())[:_MAX_TEXT]
