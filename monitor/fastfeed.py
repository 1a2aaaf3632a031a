"""A fast reader for ordinary RSS 2.0 and Atom documents: what `feedparser.parse` would say,
or None.

Contract: `parse(body, headers)` returns either None ("decline": the caller runs feedparser as
before) or a dict holding exactly what `feedparser.parse(io.BytesIO(body),
response_headers=headers, resolve_relative_uris=False, sanitize_html=True)` holds under the keys
`monitor.parse` reads:

* the result: `version`, `bozo`, `bozo_exception`, `feed`, `entries`;
* the feed: `title`, `title_detail` (`type`, `language`), `link`, `language`;
* each entry: `title`, `title_detail`, `summary`, `summary_detail`, `content` (a list of
  `type`/`language`/`value` dicts), `link`, the alternate links among `links` (`rel`, `href`,
  in order), `id`, `language`, `published_parsed`, `updated_parsed`, `author`.

Other keys are left out (enclosures, tags, media, ...). Pure: no I/O. It never raises on what a
document contains.

It reads with expat, as feedparser's strict parser does, and replays feedparser's handlers for
the elements it knows (mixin.py `unknown_starttag` and `pop`, namespaces/_base.py, dc.py,
itunes.py, mediarss.py), quirks included: the first non-empty title wins, an entry value is
replaced only from the same depth or a shallower one, a second description is content, a
permalink guid (or an Atom id) is the link when there is none, an Atom author is
"name (email)". For what feedparser does to values it calls
feedparser's own functions: `convert_to_utf8` (encodings), `replace_doctype`, `_urljoin`,
`looks_like_html`, `_sanitize_html`, `_parse_date`.

It declines whatever it is not sure to reproduce: RDF and RSS 1.0 (and any other root);
anything feedparser flags as malformed (not well-formed XML, a wrong or unknown encoding); a
DOCTYPE or entity declarations; `xml:base`; markup inside a text element (so inline XHTML); a
text element of a type other than plain text or HTML, or in base64; an element it has not
checked (textInput, an Atom source, georss, ...) or one without a handler whose key could
collide with a field above; a second Atom author in an entry.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
import xml.parsers.expat
from collections.abc import Callable, Mapping
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html, replace_doctype
from feedparser.urls import _urljoin, make_safe_absolute_uri

__all__ = ["CHECKED_WITH", "explain", "parse"]

# The feedparser release whose rules this reader reproduces (tests/test_fastfeed.py proves it
# against that release); `monitor.parse` uses it under no other.
CHECKED_WITH = "6.0.14"


class _Decline(Exception):
    """The document is outside what this reader reproduces; the message says why."""


# feedparser's tables, read from feedparser itself so that they cannot drift.
_MATCH_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_CAN_BE_RELATIVE = _FeedParserMixin.can_be_relative_uri
_DANGEROUS = _FeedParserMixin.can_contain_dangerous_markup
_HTML_TYPES = _FeedParserMixin.html_types
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
_map_content_type: Callable[[str], str] = _FeedParserMixin.map_content_type
_XLINK = "http://www.w3.org/1999/xlink"
# The `link` fix-up in feedparser's `pop`: "?a=1&amp;b=2" came out of its loose parser as
# "?a=1&b;=2" once; it undoes any "&name;" in links.
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_C1 = re.compile("[\x80-\x9f]")
# URLs `urllib.parse.urljoin(base, url)` returns as they are, whatever the base: lower-case
# http(s) (another scheme than the base's is returned at once; the same one is split and put
# back together), a host, maybe a port, no params, empty query or fragment, and nothing that
# urlsplit strips, removes or rejects (spaces, controls, tabs, brackets, non-ASCII).
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?"  # scheme, host, port
    r"(?:/[!$%&'()*+,\-./0-9:=@A-Z_a-z~]*)?"  # path, no ";"
    r"(?:\?[!$%&'()*+,\-./0-9:;=?@A-Z_a-z~]+)?"  # a non-empty query
)

# Element keys (feedparser's method names without `_start_`: mapped prefix, "_", local name)
# by what feedparser does with them.
_TITLE = frozenset({"title", "dc_title"})
_DESCRIPTION = frozenset({"description", "dc_description", "media_description"})
_SUMMARY = frozenset({"summary", "itunes_summary"})
# Content elements and the type they default to.
_CONTENT = {"content_encoded": "text/html", "fullitem": "text/html", "content": "text/plain"}
_GUID = frozenset({"guid", "id"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_AUTHOR = frozenset({"author", "dc_creator", "dc_author", "itunes_author", "managingeditor"})
_LANGUAGE = frozenset({"language", "dc_language"})
_ITEM = frozenset({"item", "entry"})
# What an Atom person holds: its name, email and URI are saved through the author code.
_PERSON = frozenset({"name", "email", "uri", "url", "homepage"})
# Elements whose handlers write only keys nobody reads here and leave the parser's state as
# they found it (checked one by one in namespaces/_base.py, dc.py, itunes.py, mediarss.py),
# provided they hold no element.
_INERT = frozenset(
    {
        "category", "dc_subject", "copyright", "rights", "dc_rights", "webmaster",
        "dc_publisher", "generator", "created", "dcterms_created", "expirationdate",
        "dcterms_valid", "dc_contributor", "tags", "itunes_subtitle", "itunes_image", "itunes_link",
        "itunes_explicit", "itunes_block", "itunes_keywords", "enclosure", "media_category",
        "media_thumbnail", "media_credit", "media_rating", "media_restriction",
        "media_license", "media_player", "cloud", "info", "feedburner_browserfriendly",
    }
)  # fmt: skip
# Also inert in the channel: what fills only feed keys nobody reads here.
_INERT_IN_FEED = _INERT | _PUBLISHED | _UPDATED | {"subtitle", "tagline"}
# Inert elements that may hold inert elements of their own: the children allowed.
# (An owner's name and email are saved through the author code, which rewrites an entry's
# author: in the channel only.)
_NESTED = {
    "itunes_owner": frozenset({"itunes_name", "itunes_email"}),
    "itunes_category": frozenset({"itunes_category"}),
    "contributor": _PERSON,
    **{key: _PERSON for key in _AUTHOR},  # in the channel (an entry's author is read)
}
# Media RSS groups: their handlers push nothing, so what they hold counts as the item's own.
_MEDIA_GROUPS = frozenset({"media_content", "media_group"})
# What an RSS <image> may hold. Any other un-prefixed element in it ends feedparser's "in
# image" state early; in an item, a description there would be checked against the wrong
# dictionary.
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
_ITEM_IMAGE_CHILDREN = _IMAGE_CHILDREN - {"description"}
# Keys feedparser gives structure to or that `monitor.parse` reads: an element without a
# handler stored under one of them would collide.
_RESERVED_KEYS = frozenset(
    {
        "author", "authors", "content", "contributors", "enclosures", "href", "id", "image",
        "language", "link", "links", "published", "publisher", "source", "summary", "tags",
        "textinput", "title", "updated", "guidislink", "media_content", "media_thumbnail",
        "media_credit", "media_rating", "media_restriction", "media_license", "media_player",
        "itunes_image", "where", "subtitle", "rights", "info", "generator", "cloud", "license",
    }
)  # fmt: skip
_LANG_ATTRS = frozenset({"xml:lang", "lang"})

# What an open element is: a document level (the RSS root, the channel or Atom feed, an item
# or entry, a media group inside one, an image in the channel or in an item), a text element
# whose value is read, an entry's author (text, or an Atom person), an element read for
# nothing that holds no element (`_LEAF`) or only given ones (`_NEST`), or one without a
# feedparser handler, which may hold more of its kind (`_GENERIC`).
(
    _ROOT, _CHANNEL, _ENTRY, _MEDIA, _IMAGE, _ITEM_IMAGE, _TEXT, _AUTHOR_KIND, _LEAF, _NEST,
    _GENERIC,
) = range(11)  # fmt: skip


def parse(body: bytes, headers: Mapping[str, str]) -> dict[str, Any] | None:
    """feedparser's result for `body` served with `headers` (lower-case names), reduced to the
    keys listed in the module docstring; None when this reader declines. Pure."""
    try:
        return _Reader(body, headers).result()
    except _Decline:
        return None


def explain(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Why `parse` declines `body`, or None when it accepts it. For tests and benchmarks."""
    try:
        _Reader(body, headers).result()
    except _Decline as e:
        return str(e)
    return None


def _has_handler(key: str) -> bool:
    return hasattr(_FeedParserMixin, "_start_" + key) or hasattr(_FeedParserMixin, "_end_" + key)


class _Frame:
    """One open element: its key, kind, effective xml:lang, and text pieces (text elements)."""

    __slots__ = ("as_content", "ctype", "key", "kind", "lang", "person", "pieces", "where")

    def __init__(
        self,
        key: str,
        kind: int,
        lang: str | None,
        ctype: str | None = None,
        where: int = 0,
        *,
        as_content: bool = False,
    ) -> None:
        self.key = key
        self.kind = kind
        self.lang = lang
        self.ctype = ctype  # feedparser's contentparams type; None outside content elements
        self.pieces: list[str] = []
        self.where = where  # the kind of the level a text element belongs to
        self.as_content = as_content  # read as the entry's content (and summary if none)
        # An entry author's name, email and href, as feedparser's `authors[-1]`; None when
        # the entry had an author before (feedparser would then mix the two).
        self.person: dict[str, str] | None = None


class _Reader:
    """One document through expat, replaying feedparser's handlers for the elements it knows."""

    def __init__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.headers = dict(headers)
        self.body = body
        self.stack: list[_Frame] = []
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.entry: dict[str, Any] = {}
        # mixin.py property_depth_map: an entry value is replaced only from the same depth or
        # a shallower one.
        self.entry_depths: dict[str, int] = {}
        self.version = ""
        self.title_depth = -1  # feedparser keeps the first non-empty title at a depth
        self.has_content = False
        self.feed_has_summary = False
        self.guid_is_link = False
        self.seen_channel = False
        self.namespace_map: dict[str | None, str] = {}
        self.namespaces_in_use: dict[str, str] = {}
        self.keys: dict[str, str] = {}  # expat name -> key, while the namespaces stay put
        self.base = ""
        self.base_splits = True
        self.baselang: str | None = self.headers.get("content-language")

    # --- the document ---------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        if not self.body:
            raise _Decline("empty document")
        info: dict[str, Any] = {}
        data = convert_to_utf8(self.headers, self.body, info)
        exc = info.get("bozo_exception")
        if not info.get("encoding"):
            raise _Decline("encoding unknown")
        # A feed served as text/html parses the same: the bozo flag it gets is not a problem.
        if info.get("bozo") and type(exc).__name__ != "NonXMLContentType":
            raise _Decline(f"bozo: {type(exc).__name__}")
        doctype_version, stripped, entities = replace_doctype(data)
        if doctype_version or entities or stripped != data:
            raise _Decline("DOCTYPE or entity declarations")
        self._set_base()
        if self.baselang:  # mixin.py __init__: Content-Language is the feed's first language
            self.feed["language"] = self.baselang.replace("_", "-")
        self._run_expat(data)  # a document expat reads has a root, and it is <rss>
        return {
            "version": self.version,
            "bozo": bool(info.get("bozo")),
            "bozo_exception": exc,
            "feed": self.feed,
            "entries": self.entries,
        }

    def _set_base(self) -> None:
        # api.parse: the document base from Content-Location; then every start tag without
        # xml:base sets it to make_safe_absolute_uri(base, base), which must be a fixed point.
        location = self.headers.get("content-location", "")
        base = make_safe_absolute_uri("", location) or make_safe_absolute_uri(location) or ""
        once = (make_safe_absolute_uri(base, base) or base) if base else _urljoin(base, base)
        twice = (make_safe_absolute_uri(once, once) or once) if once else _urljoin(once, once)
        if once != twice:
            raise _Decline("document base is not stable")
        self.base = once
        try:
            urllib.parse.urlparse(once)
        except ValueError:  # urljoin would fail, and _urljoin give ""
            self.base_splits = False

    def _run_expat(self, data: bytes) -> None:
        # The settings of xml.sax's expat reader with namespaces on, as feedparser uses it.
        parser = xml.parsers.expat.ParserCreate(None, " ")
        parser.namespace_prefixes = True
        parser.buffer_text = True
        parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_UNLESS_STANDALONE)
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.StartNamespaceDeclHandler = self._namespace
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        try:
            parser.Parse(data, True)
        except xml.parsers.expat.ExpatError as e:
            raise _Decline(f"not well-formed: {e}") from None

    def _doctype(self, *args: object) -> None:
        raise _Decline("DOCTYPE")

    # --- names ----------------------------------------------------------------------------

    def _namespace(self, prefix: str | None, uri: str | None) -> None:
        # strict.py startPrefixMapping and mixin.py track_namespace: a namespace declared
        # before the root may name the version (<rss> keeps an RSS one and replaces another).
        # Declarations are never undone.
        if not uri:
            return
        if uri == _XLINK:  # strict.py passes these on as attributes of the next element
            raise _Decline("xlink namespace")
        self.keys.clear()
        lower = uri.lower()
        if not self.version:
            if prefix is None and lower == "http://my.netscape.com/rdf/simple/0.9/":
                self.version = "rss090"
            elif lower == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif lower == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if "backend.userland.com/rss" in lower:
            uri = lower = "http://backend.userland.com/rss"
        if lower in _MATCH_NAMESPACES:
            self.namespace_map[prefix or None] = _MATCH_NAMESPACES[lower]
            self.namespaces_in_use[_MATCH_NAMESPACES[lower]] = uri
        else:
            self.namespaces_in_use[prefix or ""] = uri

    def _key(self, name: str) -> str:
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = self._make_key(name)
        return key

    def _make_key(self, name: str) -> str:
        """feedparser's handler key for an expat name "uri local [prefix]": strict.py
        startElementNS makes the tag, mixin.py unknown_starttag the method name."""
        uri, _, rest = name.partition(" ")
        if not rest:
            tag = name.lower()
        else:
            local = rest.partition(" ")[0]
            lower = uri.lower()
            if "backend.userland.com/rss" in lower:
                uri = lower = "http://backend.userland.com/rss"
            prefix = _MATCH_NAMESPACES.get(lower)
            if prefix:
                tag = f"{prefix}:{local}".lower()
            else:
                tag = local.lower()
                for known, value in self.namespaces_in_use.items():
                    if known and value == uri:
                        tag = f"{known}:{local}".lower()
                        break
        if ":" not in tag:
            return tag
        prefix, _, suffix = tag.partition(":")
        mapped = self.namespace_map.get(prefix, prefix)
        return f"{mapped}_{suffix}" if mapped else suffix

    @staticmethod
    def _attrs(attrs: dict[str, str]) -> dict[str, str]:
        # strict.py: an attribute is named "prefix:local" for a known namespace, and by its
        # qualified name too; mixin.py lower-cases names, and the values of rel and type.
        out: dict[str, str] = {}
        qualified: dict[str, str] = {}
        for name, value in attrs.items():
            parts = name.split(" ")
            if len(parts) == 1:
                out[name.lower()] = value
                qualified[name.lower()] = value
                continue
            prefix = _MATCH_NAMESPACES.get(parts[0].lower(), "")
            local = f"{prefix}:{parts[1]}" if prefix else parts[1]
            out[local.lower()] = value
            qualified[(f"{parts[2]}:{parts[1]}" if len(parts) == 3 else parts[1]).lower()] = value
        out.update(qualified)
        return {k: v.lower() if k in ("rel", "type") else v for k, v in out.items()}

    # --- start tags -----------------------------------------------------------------------

    def _start(self, name: str, raw_attrs: dict[str, str]) -> None:
        stack = self.stack
        parent = stack[-1] if stack else None
        key = self._key(name)
        attrs = self._attrs(raw_attrs) if raw_attrs else {}
        if attrs and attrs.get("xml:base", attrs.get("base")):
            raise _Decline("xml:base")
        # mixin.py unknown_starttag: xml:lang (or lang) is inherited; an empty one unsets it.
        lang = attrs.get("xml:lang", attrs.get("lang")) if attrs else None
        if lang == "":
            lang = None
        elif lang is None:
            lang = parent.lang if parent is not None else self.baselang
        if parent is None:
            frame = self._start_root(key, attrs, lang)
        else:
            kind = parent.kind
            if kind in (_ENTRY, _MEDIA):
                frame = self._start_in_item(key, attrs, lang)
            elif kind == _CHANNEL:
                frame = self._start_in_channel(key, attrs, lang)
            elif kind in (_IMAGE, _ITEM_IMAGE):
                frame = self._start_in_image(key, attrs, lang, kind)
            elif kind == _GENERIC:
                frame = self._generic(key, lang)
            elif kind == _AUTHOR_KIND and key in _PERSON and parent.person is not None:
                frame = _Frame(key, _TEXT, lang, None, _AUTHOR_KIND)
            elif kind == _NEST and key in _NESTED[parent.key]:
                frame = _Frame(key, _NEST if key in _NESTED else _LEAF, lang)
            elif kind == _ROOT and key == "channel" and not self.seen_channel:
                if "lastmod" in attrs or "href" in attrs:  # _cdf_common
                    raise _Decline("CDF attributes on <channel>")
                self.seen_channel = True
                frame = _Frame(key, _CHANNEL, lang)
            else:
                raise _Decline(f"<{key}> inside <{parent.key}>")
        stack.append(frame)

    def _start_root(self, key: str, attrs: dict[str, str], lang: str | None) -> _Frame:
        if key not in ("rss", "feed"):
            raise _Decline(f"root element <{key}>")
        if lang:  # unknown_starttag: the root's xml:lang is the feed's language
            self.feed["language"] = lang.replace("_", "-")
        if key == "feed":
            # _start_feed: Atom (1.0 by its namespace, else by a version attribute). The feed
            # element is the channel.
            if not self.version:
                versions = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
                self.version = versions.get(attrs.get("version", ""), "atom")
            return _Frame(key, _CHANNEL, lang)
        # namespaces/_base.py _start_rss: any <rss> is some RSS version; 2.x is rss20.
        if not self.version.startswith("rss"):
            version = attrs.get("version", "")
            versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            self.version = versions.get(version) or ("rss20" if version.startswith("2.") else "rss")
        return _Frame(key, _ROOT, lang)

    def _start_in_channel(self, key: str, attrs: dict[str, str], lang: str | None) -> _Frame:
        if key in _ITEM:
            # _start_item (and _start_entry): a new entry; the title rule starts over. Its
            # attributes are ignored but for rdf:about (the id) and CDF's lastmod and href.
            about = self.namespace_map.get("rdf", "rdf") + ":about"
            if "lastmod" in attrs or "href" in attrs or about in attrs:
                raise _Decline("attributes on <item>")
            self.entry = {}
            self.entry_depths = {}
            self.entries.append(self.entry)
            self.guid_is_link = False
            self.title_depth = -1
            return _Frame(key, _ENTRY, lang)
        if key == "image":
            self.title_depth = -1  # _start_image
            return _Frame(key, _IMAGE, lang)
        if key in _TITLE:
            ctype = self._content_type(key, attrs, "text/plain")
            return _Frame(key, _TEXT, lang, ctype, _CHANNEL)
        if key in _LANGUAGE:
            return _Frame(key, _TEXT, lang, None, _CHANNEL)
        if key in _GUID:  # Atom's feed id (and a guid in a channel)
            self.guid_is_link = attrs.get("ispermalink", "true") == "true"
            return _Frame(key, _TEXT, lang, None, _CHANNEL)
        if key == "link":
            return self._start_link(self.feed, attrs, lang, _CHANNEL)
        if key in _DESCRIPTION or key in _SUMMARY:
            # _start_description and _start_summary: with a summary already there, the
            # element is read as content, leaving feedparser's element stack unbalanced.
            if self.feed_has_summary:
                raise _Decline(f"<{key}> after a summary in the channel")
            self.feed_has_summary = key in _SUMMARY
            return _Frame(key, _LEAF, lang)
        if key in _INERT_IN_FEED:
            return _Frame(key, _LEAF, lang)
        if key in _NESTED:
            return _Frame(key, _NEST, lang)
        return self._generic(key, lang)

    def _start_in_item(self, key: str, attrs: dict[str, str], lang: str | None) -> _Frame:
        if key in _TITLE or key == "media_title":
            ctype = self._content_type(key, attrs, "text/plain")
            return _Frame(key, _TEXT, lang, ctype, _ENTRY)
        if key in _DESCRIPTION or key in _SUMMARY:
            if "summary" in self.entry and not self.has_content:
                # _start_description, _start_summary: a second one, with no content before,
                # is read as content of type text/plain unless it says otherwise. (It also
                # leaves a stray element on feedparser's stack, which no later pop reaches.)
                ctype = self._content_type(key, attrs, "text/plain")
                self.has_content = True
                return _Frame(key, _TEXT, lang, ctype, _ENTRY, as_content=True)
            default = "text/html" if key in _DESCRIPTION else "text/plain"
            return _Frame(key, _TEXT, lang, self._content_type(key, attrs, default), _ENTRY)
        if key in _CONTENT:
            ctype = self._content_type(key, attrs, _CONTENT[key])
            self.has_content = True
            return _Frame(key, _TEXT, lang, ctype, _ENTRY, as_content=True)
        if key == "link":
            return self._start_link(self.entry, attrs, lang, _ENTRY)
        if key in _GUID:
            # _start_guid: a guid is a permalink unless isPermaLink is other than "true".
            self.guid_is_link = attrs.get("ispermalink", "true") == "true"
            return _Frame(key, _TEXT, lang, None, _ENTRY)
        if key in _PUBLISHED or key in _UPDATED or key in _LANGUAGE:
            return _Frame(key, _TEXT, lang, None, _ENTRY)
        if key in _AUTHOR:
            # _start_author: a new, empty `authors[-1]` for what the person holds.
            frame = _Frame(key, _AUTHOR_KIND, lang)
            frame.person = None if "author" in self.entry else {}
            return frame
        if key in _MEDIA_GROUPS:
            return _Frame(key, _MEDIA, lang)
        if key == "image":
            self.title_depth = -1  # _start_image
            return _Frame(key, _ITEM_IMAGE, lang)
        if key == "source":
            self.title_depth = -1  # _start_source
            return _Frame(key, _LEAF, lang)
        if key in _INERT:
            return _Frame(key, _LEAF, lang)
        if key in ("itunes_category", "contributor"):
            return _Frame(key, _NEST, lang)
        return self._generic(key, lang)

    def _start_in_image(
        self, key: str, attrs: dict[str, str], lang: str | None, kind: int
    ) -> _Frame:
        allowed = _IMAGE_CHILDREN if kind == _IMAGE else _ITEM_IMAGE_CHILDREN
        if key not in allowed or set(attrs) - _LANG_ATTRS:
            raise _Decline(f"<{key}> in <image>")
        if key != "title":
            return _Frame(key, _LEAF, lang)
        # An image title is the image's in the channel, but the entry's in an item.
        return _Frame(key, _TEXT, lang, "text/plain", _ENTRY if kind == _ITEM_IMAGE else _IMAGE)

    def _generic(self, key: str, lang: str | None) -> _Frame:
        # mixin.py unknown_starttag: an element with no handler is stored under its own key
        # and does nothing else; what it holds is handled as usual, so only more of the same.
        if _has_handler(key):
            raise _Decline(f"<{key}> not reproduced")
        if key in _RESERVED_KEYS or key.endswith(("_detail", "_parsed")):
            raise _Decline(f"<{key}> collides with a feedparser key")
        return _Frame(key, _GENERIC, lang)

    @staticmethod
    def _content_type(key: str, attrs: dict[str, str], default: str) -> str:
        """push_content's type for a text element. Only plain text and HTML are reproduced:
        another type brings in base64 or inline XHTML."""
        ctype = _map_content_type(attrs.get("type", default))
        if ctype not in ("text/plain", "text/html"):
            raise _Decline(f"<{key}> of type {ctype}")
        if attrs.get("mode") == "base64":  # _is_base64; other modes change nothing
            raise _Decline(f"<{key}> in base64")
        return ctype

    def _start_link(
        self, context: dict[str, Any], attrs: dict[str, str], lang: str | None, where: int
    ) -> _Frame:
        # namespaces/_base.py _start_link: every link joins `links`; one with an href (Atom's)
        # is the link when it is an HTML alternate, otherwise the element's text is.
        link = dict(attrs)
        link.setdefault("rel", "alternate")
        link.setdefault("type", "application/atom+xml" if link["rel"] == "self" else "text/html")
        href = link.get("url", link.get("uri", link.get("href")))
        if href:  # _enforce_href
            link.pop("url", None)
            link.pop("uri", None)
            link["href"] = href
        if "href" in link:
            link["href"] = self._join(link["href"])
        context.setdefault("links", []).append(link)
        if "href" in link:
            if link["rel"] == "alternate" and _map_content_type(link["type"]) in _HTML_TYPES:
                context["link"] = link["href"]
            return _Frame("link", _LEAF, lang)
        return _Frame("link", _TEXT, lang, None, where)

    # --- text and end tags ----------------------------------------------------------------

    def _text(self, text: str) -> None:
        if self.stack and self.stack[-1].kind in (_TEXT, _AUTHOR_KIND):
            self.stack[-1].pieces.append(text)

    def _end(self, name: str) -> None:
        frame = self.stack.pop()
        if self._key(name) != frame.key:
            raise _Decline("namespace prefixes changed inside an element")
        kind = frame.kind
        if kind == _ENTRY:
            self.has_content = False  # _end_item
        elif kind == _AUTHOR_KIND:
            self._end_author(frame, len(self.stack) + 1)
        elif kind == _TEXT:
            depth = len(self.stack) + 1
            where = frame.where
            if where == _ENTRY:
                self._end_in_item(frame, depth)
            elif where == _CHANNEL:
                self._end_in_channel(frame, depth)
            elif where == _AUTHOR_KIND:
                self._end_person_part(frame)
            else:  # a title in the channel's image: it only counts for the title rule
                value, _ = self._value(frame, "title")
                if value:
                    self.title_depth = depth

    def _end_in_channel(self, frame: _Frame, depth: int) -> None:
        key, feed = frame.key, self.feed
        if key in _TITLE:
            value, ctype = self._value(frame, "title")
            if not -1 < self.title_depth <= depth:
                feed["title"] = value
                feed["title_detail"] = self._detail(frame, ctype, value)
            if value:
                self.title_depth = depth
        elif key in _LANGUAGE:
            feed["language"], _ = self._value(frame, "language")
        elif key in _GUID:
            value, _ = self._value(frame, "id")
            if self.guid_is_link:  # _end_guid: the id is the feed's link if none came yet
                feed.setdefault("link", value)
        else:  # link
            value, _ = self._value(frame, "link")
            value = _LINK_ENTITY.sub(r"&\g<1>", value)
            feed["link"] = value
            feed["links"][-1]["href"] = value

    def _end_in_item(self, frame: _Frame, depth: int) -> None:
        key, entry = frame.key, self.entry
        if key in _TITLE or key == "media_title":
            value, ctype = self._value(frame, "title")
            if not -1 < self.title_depth <= depth:
                self._store("title", value, depth, self._detail(frame, ctype, value))
            # _end_media_title keeps the title depth as it was.
            if value and key != "media_title":
                self.title_depth = depth
        elif frame.as_content:
            value, ctype = self._value(frame, "content")
            entry.setdefault("content", []).append(self._detail(frame, ctype, value))
            # _end_content: text or HTML content is the summary when there is none yet.
            entry.setdefault("summary", value)
        elif key in _DESCRIPTION or key in _SUMMARY:
            value, ctype = self._value(frame, "description" if key in _DESCRIPTION else "summary")
            self._store("summary", value, depth, self._detail(frame, ctype, value))
        elif key == "link":  # (an image's link is nobody's: not a text element)
            value, _ = self._value(frame, "link")
            value = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
            entry["link"] = value
            if value:
                entry["links"][-1]["href"] = value
        elif key in _GUID:
            value, _ = self._value(frame, "id")
            self._store("id", value, depth)
            if self.guid_is_link:  # _end_guid: a permalink guid is the link if none came yet
                entry.setdefault("link", value)
        elif key in _PUBLISHED:
            entry["published_parsed"] = _parse_date(self._value(frame, "published")[0])
        elif key in _UPDATED:
            entry["updated_parsed"] = _parse_date(self._value(frame, "updated")[0])
        else:  # language
            self._store("language", self._value(frame, "language")[0], depth)

    def _end_person_part(self, frame: _Frame) -> None:
        # _end_name, _end_email (pushed without expecting text: the bare stripped text) and
        # _end_url (a link): _save_author puts each in `authors[-1]`.
        person = self.stack[-1].person
        assert person is not None
        if frame.key in ("name", "email"):
            person[frame.key] = "".join(frame.pieces).strip()
        else:
            person["href"] = self._value(frame, "href")[0]

    def _end_author(self, frame: _Frame, depth: int) -> None:
        # _end_author: the element's own text is the author, then _sync_author_detail makes
        # it "name (email)", the name or the email of the person when it has any part.
        self._store("author", self._value(frame, "author")[0], depth)
        person = frame.person
        if person:
            name, email = person.get("name"), person.get("email")
            if name and email:
                self.entry["author"] = f"{name} ({email})"
            elif name or email:
                self.entry["author"] = name or email

    def _store(
        self, key: str, value: str, depth: int, detail: dict[str, Any] | None = None
    ) -> None:
        # mixin.py pop, for an entry: the value obeys the depth rule, its detail does not.
        old = self.entry_depths.get(key)
        if old is None or depth <= old:
            self.entry_depths[key] = depth
            self.entry[key] = value
        if detail is not None:
            self.entry[key + "_detail"] = detail

    def _detail(self, frame: _Frame, ctype: str | None, value: str) -> dict[str, Any]:
        # push_content's contentparams as pop leaves them.
        lang = frame.lang.replace("_", "-") if frame.lang else frame.lang
        return {"type": ctype, "language": lang, "base": self.base, "value": value}

    def _join(self, uri: str) -> str:
        """feedparser's `_urljoin(base, uri)`. An absolute http(s) URL in the shape urljoin
        gives back unchanged skips it, when the base is one urljoin can split."""
        if self.base_splits and _PLAIN_URL.fullmatch(uri):
            return uri
        return str(_urljoin(self.base, uri))

    def _value(self, frame: _Frame, element: str) -> tuple[str, str | None]:
        """The text of `frame` as feedparser's `pop` leaves it for `element`, and its type."""
        output = "".join(frame.pieces).strip()
        ctype = frame.ctype
        # Links are resolved against the base; a guid only when it is a permalink.
        if element in _CAN_BE_RELATIVE and output and (element != "id" or self.guid_is_link):
            output = self._join(output)
        # RSS text "nominally plain" that looks like HTML is taken as HTML (looks_like_html
        # needs a "</" or an "&" to say yes).
        if (
            ctype == "text/plain"
            and ("<" in output or "&" in output)
            and not self.version.startswith("atom")
            and _looks_like_html(output)
        ):
            ctype = "text/html"
        # Content elements are plain text or HTML here; others count as HTML, and are not
        # sanitized unless named like content.
        if element in _DANGEROUS and ctype != "text/plain":
            output = _sanitized(output, ctype or "text/html")
        if not output.isascii():
            # UTF-8 read as ISO-8859-1 by the publisher is decoded once more; C1 controls are
            # taken for the windows-1252 characters they stand for.
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")
            if _C1.search(output):
                output = output.translate(_cp1252)
        return output, ctype


def _sanitized(html: str, ctype: str) -> str:
    # Text with no markup and no reference passes feedparser's sanitizer unchanged but for
    # its own strip and CRLF folding (sgmllib hands it to handle_data in one piece).
    if "<" not in html and "&" not in html:
        return html.strip().replace("\r\n", "\n")
    return str(_sanitize_html(html, "utf-8", ctype))
