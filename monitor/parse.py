"""Parse stage: feed bytes and response headers in, a `ParsedFeed` record out.

Pure: no network, no files, no clock. `fetch` hands over the body and the (decoded) response
headers; this module turns them into typed records and never raises on what a feed contains.

* RSS 0.9x/1.0/2.0, RDF and Atom go through feedparser. It always gets a byte stream
  (`io.BytesIO`), never a string: a string would make feedparser open a URL or a local file.
  The document base URL is computed here (the feed URL, or a `Content-Location` header resolved
  against it when that is http(s)) and handed to feedparser as `Content-Location`, so relative
  links and `xml:base` resolve, and a hostile `Content-Location: javascript:...` never becomes a
  base.
* An ordinary RSS 2.0 or Atom document is first offered to `fastfeed`, a reader several times
  faster that gives exactly feedparser's result for the fields read here, or declines (then
  feedparser reads it). It is an optimisation only: the `ParsedFeed` is the same either way.
* JSON Feed 1.0 and 1.1 are parsed here with `json` (feedparser 6.0.14 has no JSON support).
  A truncated JSON Feed gives back the complete items before the break.
* Every text field becomes plain text: HTML stripped (script and style dropped), entities
  decoded, control characters removed, whitespace collapsed, length capped.
* Dates become timezone-aware UTC datetimes, or None when missing, unparseable or absurd.
* One `Entry` per item of the document, in document order. Entries are never merged here, even
  when two share an id: de-duplication is the store's job.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from types import ModuleType
from typing import Any
from xml.sax import SAXParseException

import feedparser

from monitor.models import Entry, ParsedFeed

# fastfeed reproduces the feedparser release it was checked against, using some of its
# internal functions: under any other release (or if those moved), feedparser reads everything.
_fastfeed_module: ModuleType | None
try:
    from monitor import fastfeed as _fastfeed_module
except ImportError:
    _fastfeed_module = None


def _fast_reader_for(release: str) -> ModuleType | None:
    """fastfeed when `release` is the feedparser release it reproduces, else None."""
    if _fastfeed_module is None or release != _fastfeed_module.CHECKED_WITH:
        return None
    return _fastfeed_module


_fastfeed = _fast_reader_for(feedparser.__version__)

__all__ = [
    "MAX_AUTHOR",
    "MAX_CONTENT",
    "MAX_SUMMARY",
    "MAX_TITLE",
    "TRACKING_PARAMS",
    "canonical_url",
    "entry_key",
    "html_to_text",
    "normalise_lang",
    "parse_feed",
]

# Caps on plain-text fields, in characters: bound the memory one hostile feed can take.
MAX_TITLE = 1_000
MAX_SUMMARY = 10_000
MAX_CONTENT = 100_000
MAX_AUTHOR = 1_000
_MAX_PROBLEM = 300

# Query parameters that only say where a click came from, never which page it is. Removed by
# `canonical_url` so one article shared through several channels keeps one URL. Any parameter
# whose name starts with `utm_` goes too. Generic names such as `ref`, `source` or `id` are
# deliberately absent: on some sites they select the content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "gclsrc",
        "dclid",  # Google Display
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "ysclid",  # Yandex
        "twclid",  # Twitter/X
        "igshid",  # Instagram
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_ga",  # Google Analytics cross-domain
        "_gl",
        "_hsenc",  # HubSpot
        "_hsmi",
        "mkt_tok",  # Marketo
        "ref_src",  # Twitter share links
        "ref_url",
        "cmpid",  # campaign ids (Reuters, others)
        "cmp",  # the Guardian's share buttons (?CMP=share_btn_tw)
        "ocid",  # Microsoft/MSN
        "smid",  # NYT share links
        "at_medium",  # AT Internet (BBC and others)
        "at_campaign",
        "at_campaign_type",
        "at_creation",
        "at_format",
        "at_link",
        "at_link_id",
        "at_link_origin",
        "at_link_type",
        "at_ptr_name",
        "at_bbc_team",
        "oly_anon_id",  # Omeda
        "oly_enc_id",
        "vero_id",  # Vero
        "wt.mc_id",  # Webtrends
        "s_cid",  # Adobe
    }
)
_TRACKING_PREFIXES = ("utm_",)
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_AND_NEWLINE = re.compile("[\t\n\r]")
# The shape of a URL that `canonical_url` may give back unchanged: lower-case http(s) scheme,
# lower-case ASCII host with no port or user, a path with no `;` (`urljoin` drops an empty
# parameter), maybe a non-empty query (still to be checked for tracking parameters and empty
# pieces), no fragment, nothing outside printable ASCII. Most feed links look like this, and
# one match is much cheaper than `urljoin`, `urlsplit` and `urlunsplit`.
_CANONICAL_SHAPE = re.compile(
    r"https?://[a-z0-9.-]+/[^\x00-\x20\x7f-\U0010ffff?#;\\]*"
    r"(?:\?(?P<query>[^\x00-\x20\x7f-\U0010ffff#]+))?"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

_MIN_YEAR = 1990
_MAX_YEAR = 2100

# C0 and C1 controls (whitespace among them is collapsed separately), lone surrogates (which
# SQLite cannot store as UTF-8) and the two non-characters.
_UNWANTED_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Markup or a character reference in a field declared text/plain: RSS titles are HTML in
# practice (Livemint's `<span class="webrupee">`), but a plain "a < b" or "AT&T" is left alone.
_LOOKS_LIKE_HTML = re.compile(
    r"</?[A-Za-z][^<>]*>|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);"
)
_LANG_PRIMARY = re.compile(r"[a-z]{2,3}")
_LANG_SEPARATOR = re.compile(r"[-_\s]")
_JSON_FEED_VERSION = "jsonfeed.org/version/"
_JSON_TYPES = ("application/feed+json", "application/json")
# feedparser asks xml.sax for its preferred driver "drv_libxml2" before expat on every parse.
# That module does not exist, and a failed import is never cached: each parse searched sys.path
# again, behind the import lock (9% of a 300-feed poll's samples). Expat is what it falls back to.
feedparser.api.PREFERRED_XML_PARSERS[:] = []


# feedparser joins the document's base URI with the element's at every start tag
# (`make_safe_absolute_uri(self.baseuri, baseuri)`, almost always the same two strings): a
# quarter of its time on a 30-item feed (7.8 to 5.7 ms). The function is pure; short arguments
# are memoised, so a hostile document's long `xml:base` values are never kept.
_MEMO_URI_CHARS = 2048


@functools.lru_cache(maxsize=64)
def _memo_safe_absolute_uri(base: str, rel: str) -> str:
    return str(_safe_absolute_uri(base, rel))


def _fast_safe_absolute_uri(base: Any, rel: Any = None) -> Any:
    if isinstance(base, str) and isinstance(rel, str) and len(base) + len(rel) <= _MEMO_URI_CHARS:
        return _memo_safe_absolute_uri(base, rel)
    return _safe_absolute_uri(base, rel)


_safe_absolute_uri = feedparser.urls.make_safe_absolute_uri
feedparser.mixin.make_safe_absolute_uri = _fast_safe_absolute_uri

_HTML_SNIFF = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]")
_FEED_SNIFF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|rdf|channel)[\s>/]")


# --- public API ----------------------------------------------------------------------------


def parse_feed(
    body: bytes, headers: Mapping[str, str], *, feed_url: str, lang: str | None = None
) -> ParsedFeed:
    """Parse one fetched feed document. Pure: does no I/O.

    `body` is the response body after transfer decoding (httpx undoes `Content-Encoding`);
    `headers` are the response headers (any case); `feed_url` is the URL the feed is followed
    under (use the configured URL so entry ids survive redirects); `lang` is the configured
    language, the last fallback for entries and feed.

    Returns a `ParsedFeed` with one `Entry` per item, in document order. Never raises on any
    input: a malformed document gives what could be recovered, with `problem` set to one line
    (not well-formed XML, an HTML page, gzip bytes, invalid JSON Feed, ...). A valid feed with
    no items is not a problem.
    """
    hdrs = {str(k).strip().lower(): str(v) for k, v in headers.items()}
    fallback_lang = normalise_lang(lang)
    if body[:2] == b"\x1f\x8b":
        return _failed("gzip-compressed body served without Content-Encoding", fallback_lang)
    if not body.strip():
        return _failed("empty document", fallback_lang)
    base = _document_base(feed_url, hdrs)
    if _is_json_feed(body, hdrs):
        return _parse_json_feed(body, feed_url=feed_url, base=base, lang=fallback_lang)
    return _parse_xml_feed(body, hdrs, feed_url=feed_url, base=base, lang=fallback_lang)


def entry_key(
    feed_url: str,
    guid: str | None,
    link: str | None,
    title: str,
    summary: str,
    content: str,
) -> tuple[str, str]:
    """Return `(id, feed_key)` for one item of the feed at `feed_url`. Pure.

    `feed_key` names the item within its feed: the guid if there is one, else the canonical
    link, else `"sha256:"` + a hash of title, summary, content and raw link.

    `id` is the first 16 hex digits of SHA-256 over:

    * `"u:" + canonical(guid)` when the guid is an absolute http(s) URL;
    * `"g:" + feed_url + "\\n" + guid` for any other guid (guids are unique only within a feed);
    * `"u:" + canonical(link)` when there is no guid but an http(s) link;
    * `"h:" + feed_url + "\\n" + content hash` otherwise.

    So the same article (same URL as guid or link) from two feeds gets the same id, while two
    items with different guids and the same link stay distinct, and two items with neither guid
    nor link stay distinct unless their text is identical (then, in one feed, they are the same
    item). `link` may be relative: it is resolved against `feed_url`.
    """
    return _entry_key(feed_url, guid, link, canonical_url(link, feed_url), title, summary, content)


def _entry_key(
    feed_url: str,
    guid: str | None,
    link: str | None,
    url: str | None,
    title: str,
    summary: str,
    content: str,
) -> tuple[str, str]:
    """`entry_key`, given `url`, the canonical form of `link` resolved against `feed_url`:
    the parsers have it already whenever the document base is the feed URL."""
    guid = guid.strip() if guid else None
    if guid:
        feed_key = guid
        guid_url = canonical_url(guid) if guid.lower().startswith(("http://", "https://")) else None
        basis = f"u:{guid_url}" if guid_url else f"g:{feed_url}\n{guid}"
    elif url:
        feed_key = url
        basis = f"u:{url}"
    else:
        payload = json.dumps([title, summary, content, link or ""], ensure_ascii=False)
        digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
        feed_key = f"sha256:{digest}"
        basis = f"h:{feed_url}\n{digest}"
    entry_id = hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return entry_id, feed_key


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """Return the canonical form of `url`, or None when it is not a usable http(s) URL. Pure.

    `url` is resolved against `base` when relative. The result has a lower-case scheme and
    host (an internationalised host in its ASCII `xn--` form), no default port, `/` for an empty
    path, no fragment, and no tracking parameters (`TRACKING_PARAMS`, `utm_*`); the other query
    parameters keep their order and spelling. Never raises.
    """
    if not isinstance(url, str):
        return None
    shape = _CANONICAL_SHAPE.fullmatch(url)
    if shape:
        query = shape["query"]
        if query is None or _without_tracking(query) == query:
            try:
                if base:
                    # `urljoin` leaves an absolute http(s) URL with a host as it is, but it
                    # splits the base first, which rejects a malformed one: so must this.
                    urllib.parse.urlsplit(base)
            except ValueError:
                return None
            return url
    # WHATWG URL parsing strips surrounding C0/space and drops tabs and newlines inside.
    cleaned = _TAB_AND_NEWLINE.sub("", url.strip(_C0_AND_SPACE))
    if not cleaned or _UNWANTED_CHARS.search(cleaned):
        return None
    try:
        if base:
            cleaned = urllib.parse.urljoin(base, cleaned)
        parts = urllib.parse.urlsplit(cleaned)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = parts.hostname  # lower-cased by urllib; None when absent
        port = parts.port  # ValueError when not a number in range
    except ValueError:
        return None
    if not host:
        return None
    host = _ascii_host(host)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = _without_tracking(parts.query)
    return urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML fragment as one line. Pure.

    Script, style, template, noscript and iframe contents are dropped, block-level tags
    separate words, entities are decoded, control characters removed and whitespace collapsed.
    """
    if "<" not in html:
        # No markup: html.parser would hand the whole text, entities decoded, to handle_data.
        return _clean(unescape(html) if "&" in html else html)
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # html.parser's complaints about hopeless markup
        pass
    return _clean("".join(extractor.parts))


def normalise_lang(value: object) -> str | None:
    """Return the primary language subtag of a language tag, lower-case ("en-US" -> "en").

    Anything that is not a string starting with a 2- or 3-letter subtag gives None.
    """
    if not isinstance(value, str):
        return None
    primary = _LANG_SEPARATOR.split(value.strip().lower(), maxsplit=1)[0]
    return primary if _LANG_PRIMARY.fullmatch(primary) else None


# --- text ----------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "iframe"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


class _TextExtractor(HTMLParser):
    """Collects text data outside skipped elements; block tags become spaces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping and self._skipping.pop() != tag:
                pass
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _clean(text: str) -> str:
    return " ".join(_UNWANTED_CHARS.sub("", text).split())


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _plain(value: object, content_type: object, limit: int) -> str:
    """Plain text of a feed field; `content_type` is feedparser's type for it (or "text/html")."""
    if not isinstance(value, str) or not value:
        return ""
    ctype = content_type if isinstance(content_type, str) else "text/html"
    if "html" in ctype or _LOOKS_LIKE_HTML.search(value):
        return _cap(html_to_text(value), limit)
    return _cap(_clean(value), limit)


def _one_line(text: str) -> str:
    return _cap(_clean(text), _MAX_PROBLEM)


# --- dates ---------------------------------------------------------------------------------


def _from_struct_time(value: object) -> datetime | None:
    """feedparser's `*_parsed` (a UTC `time.struct_time`) as an aware UTC datetime, or None."""
    try:
        year, month, day, hour, minute, second = map(int, value[:6])  # type: ignore[index]
        return _sane(datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _from_iso(value: object) -> datetime | None:
    """An RFC 3339 / ISO 8601 date (JSON Feed), or failing that an RFC 822 one, in UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if parsed.tzinfo is None:  # RFC 3339 requires an offset; a missing one is taken as UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return _sane(parsed.astimezone(UTC))
    except (ValueError, OverflowError):
        return None


def _sane(value: datetime) -> datetime | None:
    return value if _MIN_YEAR <= value.year <= _MAX_YEAR else None


# --- URLs and headers ----------------------------------------------------------------------


def _without_tracking(query: str) -> str:
    """`query` without tracking parameters and empty `&` pieces, the rest in order."""
    return "&".join(p for p in query.split("&") if p and not _is_tracking_param(p))


def _is_tracking_param(pair: str) -> bool:
    name = urllib.parse.unquote_plus(pair.partition("=")[0]).strip().lower()
    return name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _document_base(feed_url: str, headers: Mapping[str, str]) -> str:
    """The URL relative links resolve against: Content-Location if http(s), else the feed URL."""
    location = headers.get("content-location", "").strip()
    if location:
        try:
            resolved = urllib.parse.urljoin(feed_url, location)
            if urllib.parse.urlsplit(resolved).scheme.lower() in _DEFAULT_PORTS:
                return resolved
        except ValueError:
            pass
    return feed_url if canonical_url(feed_url) else ""


def _substantial(entry: Entry) -> bool:
    """An item with no id, title, text or link (a truncated document's last fragment) is not
    an entry: there is nothing to show, analyze, link to or recognise again."""
    has_guid = not entry.feed_key.startswith("sha256:")
    return bool(has_guid or entry.title or entry.summary or entry.content or entry.url)


def _failed(problem: str, lang: str | None) -> ParsedFeed:
    return ParsedFeed(title="", link=None, lang=lang, entries=(), problem=problem)


# --- RSS, Atom, RDF (feedparser) -----------------------------------------------------------


def _parse_xml_feed(
    body: bytes, headers: dict[str, str], *, feed_url: str, base: str, lang: str | None
) -> ParsedFeed:
    fp_headers = dict(headers)
    # Without a Content-Type, feedparser decodes as ISO-8859-1 as soon as any header is present
    # (RFC 2616's text default). XML's own rule is better: BOM, then declaration, then UTF-8.
    fp_headers.setdefault("content-type", "application/xml")
    fp_headers.pop("content-location", None)
    if base:
        fp_headers["content-location"] = base
    result = _fast_parse(body, fp_headers)
    if result is None:
        try:
            result = feedparser.parse(
                io.BytesIO(body),
                response_headers=fp_headers,
                # Links inside HTML fields need no resolving: every field becomes plain text
                # here, and the links kept (entry and feed links) are resolved by feedparser
                # regardless. Resolving re-parsed every HTML field once more.
                resolve_relative_uris=False,
                sanitize_html=True,
            )
        except Exception as e:  # a feedparser bug on hostile input must not stop the run
            return _failed(_one_line(f"feedparser failed: {type(e).__name__}: {e}"), lang)
    feed = _mapping(result.get("feed"))
    feed_lang = (
        normalise_lang(feed.get("language"))
        or normalise_lang(_mapping(feed.get("title_detail")).get("language"))
        or lang
    )
    items = result.get("entries")
    entries = tuple(
        _xml_entry(
            _mapping(item),
            feed_url=feed_url,
            base=base,
            feed_lang=feed_lang,
        )
        for item in (items if isinstance(items, list) else [])
    )
    entries = tuple(e for e in entries if _substantial(e))
    title_detail = _mapping(feed.get("title_detail"))
    return ParsedFeed(
        title=_plain(feed.get("title"), title_detail.get("type", "text/plain"), MAX_TITLE),
        link=canonical_url(_str(feed.get("link")), base or None),
        lang=feed_lang,
        entries=entries,
        problem=_xml_problem(result, body, headers, has_entries=bool(entries)),
    )


def _fast_parse(body: bytes, fp_headers: dict[str, str]) -> dict[str, Any] | None:
    """`fastfeed.parse`: feedparser's result for an ordinary RSS 2.0 or Atom document, three
    to five times sooner, or None for feedparser to read it. A bug there must not cost the
    feed: feedparser reads it then."""
    if _fastfeed is None:
        return None
    try:
        result: dict[str, Any] | None = _fastfeed.parse(body, fp_headers)
    except Exception:
        return None
    return result


def _xml_entry(item: dict[str, Any], *, feed_url: str, base: str, feed_lang: str | None) -> Entry:
    title_detail = _mapping(item.get("title_detail"))
    summary_detail = _mapping(item.get("summary_detail"))
    contents = item.get("content")
    first = _mapping(contents[0]) if isinstance(contents, list) and contents else {}
    title = _plain(item.get("title"), title_detail.get("type", "text/plain"), MAX_TITLE)
    summary = _plain(item.get("summary"), summary_detail.get("type"), MAX_SUMMARY)
    content = _plain(first.get("value"), first.get("type"), MAX_CONTENT)
    if content == summary:
        content = ""
    link, url = _xml_link(item, base)
    key_url = url if base == feed_url else canonical_url(link, feed_url)
    guid = _str(item.get("id"))
    entry_id, feed_key = _entry_key(feed_url, guid, link, key_url, title, summary, content)
    entry_lang = _first_lang(
        item.get("language"),
        first.get("language"),
        title_detail.get("language"),
        summary_detail.get("language"),
    )
    return Entry(
        id=entry_id,
        feed_key=feed_key,
        url=url,
        title=title,
        summary=summary,
        content=content,
        # `item` is a plain dict (see `_mapping`): no published date passed off as updated.
        published=_from_struct_time(item.get("published_parsed")),
        updated=_from_struct_time(item.get("updated_parsed")),
        lang=entry_lang or feed_lang,
        author=_plain(item.get("author"), "text/plain", MAX_AUTHOR),
    )


def _xml_link(item: Mapping[str, Any], base: str) -> tuple[str | None, str | None]:
    """The item's article link and its canonical form (resolved against `base`): feedparser's
    `link`, else its first http(s) alternate link; the canonical form is None when neither is
    a usable http(s) URL. Both come back so the caller does not canonicalise the link again."""
    link = _str(item.get("link"))
    url = canonical_url(link, base or None)
    if url:
        return link, url
    links = item.get("links")
    for candidate in links if isinstance(links, list) else []:
        data = _mapping(candidate)
        href = _str(data.get("href"))
        if data.get("rel", "alternate") == "alternate":
            href_url = canonical_url(href, base or None)
            if href_url:
                return href, href_url
    return link, None


def _xml_problem(
    result: Mapping[str, Any], body: bytes, headers: Mapping[str, str], *, has_entries: bool
) -> str | None:
    if not result.get("version") and not has_entries:
        head = body[:4096].lower()
        content_type = headers.get("content-type", "").lower()
        if _HTML_SNIFF.search(head) and not _FEED_SNIFF.search(head):
            return "not a feed (HTML page)"
        if "html" in content_type and not _FEED_SNIFF.search(head):
            return "not a feed (HTML page)"
    exc = result.get("bozo_exception")
    # A feed served as text/html or text/plain but parsed fine is not a malformed document.
    if result.get("bozo") and type(exc).__name__ != "NonXMLContentType":
        return _bozo_message(exc)
    if not result.get("version") and not has_entries:
        return "not a feed (no RSS, Atom or RDF root element)"
    return None


def _bozo_message(exc: object) -> str:
    if isinstance(exc, SAXParseException):
        return _one_line(f"not well-formed XML at line {exc.getLineNumber()}: {exc.getMessage()}")
    if isinstance(exc, BaseException):
        name = type(exc).__name__
        return _one_line(f"{_BOZO_LABELS.get(name, name)}: {exc}")
    return "malformed document"


_BOZO_LABELS = {
    "CharacterEncodingOverride": "wrong encoding declared",
    "CharacterEncodingUnknown": "unknown encoding",
    "UndeclaredNamespace": "undeclared namespace",
}


def _first_lang(*values: object) -> str | None:
    for value in values:
        found = normalise_lang(value)
        if found:
            return found
    return None


def _mapping(value: object) -> dict[str, Any]:
    """A feedparser record as a plain dict; {} for anything else.

    feedparser's records are FeedParserDicts, whose `get` runs their alias table in Python on
    every read: that was the largest cost of turning an item into an `Entry`. No key read here
    is an alias, so a shallow copy answers the same, except `updated_parsed`: FeedParserDict
    answers it with the published date when the item has none, a plain dict does not.
    """
    if type(value) is dict:
        return value
    return dict(value) if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --- JSON Feed -----------------------------------------------------------------------------


def _is_json_feed(body: bytes, headers: Mapping[str, str]) -> bool:
    """JSON Feed when served as JSON (and not XML), or when the body says so itself."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _JSON_TYPES:
        return start != b"<"
    # json_encode (PHP) writes "https:\/\/jsonfeed.org\/version\/1.1" by default.
    return start == b"{" and (
        _JSON_FEED_VERSION.encode() in body
        or _JSON_FEED_VERSION.replace("/", "\\/").encode() in body
    )


def _parse_json_feed(body: bytes, *, feed_url: str, base: str, lang: str | None) -> ParsedFeed:
    try:
        text = body.decode(json.detect_encoding(body), "replace").lstrip("\ufeff")
    except LookupError:
        text = body.decode("utf-8", "replace")
    problems: list[str] = []
    try:
        document: object = json.loads(text)
    except (ValueError, RecursionError) as e:
        problems.append(_one_line(f"invalid JSON Feed: {e}"))
        document = _salvage_object(text)
    if not isinstance(document, dict):
        kind = type(document).__name__
        return _failed(f"invalid JSON Feed: top level is a {kind}, not an object", lang)
    fields = _JsonFields(document, "", problems)
    version = fields.text("version")
    if _JSON_FEED_VERSION not in version:
        problems.append("invalid JSON Feed: no jsonfeed.org version")
    feed_lang = normalise_lang(fields.text("language")) or lang
    items = document.get("items")
    if items is None:
        items = []
        problems.append("invalid JSON Feed: no items array")
    elif not isinstance(items, list):
        problems.append(f"invalid JSON Feed: items is a {type(items).__name__}, not an array")
        items = []
    entries: list[Entry] = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            item_fields = _JsonFields(item, f"items[{index}].", problems)
            entry = _json_entry(item_fields, feed_url=feed_url, base=base, lang=feed_lang)
            if _substantial(entry):
                entries.append(entry)
        else:
            problems.append(f"invalid JSON Feed: items[{index}] is not an object")
    return ParsedFeed(
        title=_plain(fields.text("title"), "text/plain", MAX_TITLE),
        link=canonical_url(fields.text("home_page_url"), base or None),
        lang=feed_lang,
        entries=tuple(entries),
        problem=problems[0] if problems else None,
    )


class _JsonFields:
    """Typed reads from one JSON object; a value of the wrong type is noted and ignored."""

    def __init__(self, data: Mapping[str, object], path: str, problems: list[str]) -> None:
        self.data = data
        self.path = path
        self.problems = problems

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value or ""
        self.problems.append(f"invalid JSON Feed: {self.path}{key} is not a string")
        return ""

    def ident(self, key: str) -> str | None:
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # JSON Feed 1.0 publishers often wrote numeric ids
        return self.text(key) or None

    def author(self) -> str:
        names: list[str] = []
        authors = self.data.get("authors")
        candidates: Iterable[object] = authors if isinstance(authors, list) else []
        for value in [*candidates, self.data.get("author")]:
            if isinstance(value, dict) and isinstance(value.get("name"), str):
                name = _plain(value["name"], "text/plain", MAX_AUTHOR)
                if name and name not in names:
                    names.append(name)
        return _cap(", ".join(names), MAX_AUTHOR)


def _json_entry(fields: _JsonFields, *, feed_url: str, base: str, lang: str | None) -> Entry:
    # JSON Feed text fields are plain text by the spec; publishers still put entities and
    # markup in them, which `_plain` strips only when it sees some.
    title = _plain(fields.text("title"), "text/plain", MAX_TITLE)
    summary = _plain(fields.text("summary"), "text/plain", MAX_SUMMARY)
    content_html = fields.text("content_html")
    if content_html:
        content = _plain(content_html, "text/html", MAX_CONTENT)
    else:
        content = _plain(fields.text("content_text"), "text/plain", MAX_CONTENT)
    if content == summary:
        content = ""
    link = fields.text("url") or fields.text("external_url") or None
    url = canonical_url(link, base or None)
    key_url = url if base == feed_url else canonical_url(link, feed_url)
    entry_id, feed_key = _entry_key(
        feed_url, fields.ident("id"), link, key_url, title, summary, content
    )
    return Entry(
        id=entry_id,
        feed_key=feed_key,
        url=url,
        title=title,
        summary=summary,
        content=content,
        published=_from_iso(fields.data.get("date_published")),
        updated=_from_iso(fields.data.get("date_modified")),
        lang=normalise_lang(fields.data.get("language")) or lang,
        author=fields.author(),
    )


def _salvage_object(text: str) -> dict[str, object]:
    """The top-level members of a truncated JSON object that parse, and the complete items.

    Reads member by member with `raw_decode`; inside `items` it keeps every complete item
    before the break. Returns what it has when the text ends or stops making sense.
    """
    decoder = json.JSONDecoder()
    out: dict[str, object] = {}
    pos = _skip_ws(text, 0)
    if not text.startswith("{", pos):
        return out
    pos += 1
    try:
        while True:
            pos = _skip_ws(text, pos)
            if pos >= len(text) or text[pos] == "}":
                return out
            if text[pos] == ",":
                pos += 1
                continue
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if not text.startswith(":", pos) or not isinstance(key, str):
                return out
            pos = _skip_ws(text, pos + 1)
            if key == "items" and text.startswith("[", pos):
                items: list[object] = []
                out["items"] = items
                pos = _salvage_array(decoder, text, pos + 1, items)
                continue
            out[key], pos = decoder.raw_decode(text, pos)
    except (ValueError, RecursionError):
        return out


def _salvage_array(decoder: json.JSONDecoder, text: str, pos: int, into: list[object]) -> int:
    """Append the complete values of an array starting at `pos`; return where it ended."""
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            raise ValueError("truncated array")
        if text[pos] == "]":
            return pos + 1
        if text[pos] == ",":
            pos += 1
            continue
        value, pos = decoder.raw_decode(text, pos)
        into.append(value)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
