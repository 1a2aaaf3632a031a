"""Feed management: edit `feeds.yaml` as the user wrote it, find and check feeds.

`FeedsFile` edits the file through ruamel.yaml's round-trip mode, so comments, key order,
quoting and indentation survive; every edit is checked with `load_config` before it replaces
the file, atomically, keeping the file's permissions (it may hold notification passwords).

`find_feed` (network I/O through `Fetcher`) answers "is this URL a feed?", and when it is a web
page, discovers its feed through `<link rel="alternate" type="application/rss+xml">` and kin.
`check_feeds` fetches every feed once, without cache validators, and reports what came back.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from monitor.errors import ConfigError, FetchError, UsageError
from monitor.fetch import Fetcher
from monitor.models import FeedConfig, FetchStatus, Settings, Validators
from monitor.parse import parse_feed

__all__ = [
    "FEED_TYPES",
    "FeedCheck",
    "FeedsFile",
    "FoundFeed",
    "NewFeed",
    "check_feeds",
    "discover_feed_links",
    "find_feed",
    "same_url",
    "summarize_checks",
    "write_preserving",
]

# <link rel="alternate" type=...> values that announce a feed (HTML Living Standard, JSON Feed).
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
)
_MAX_CANDIDATES = 5  # feed links tried per page: a hostile page must not fan out requests
_MAX_NAME = 100


# --- editing feeds.yaml --------------------------------------------------------------------


@dataclass(frozen=True)
class NewFeed:
    """A feed to add to `feeds.yaml`. `name` None: the file gets a unique name from `title`."""

    url: str
    name: str | None = None
    title: str = ""  # the feed's own title, used for the name when none is given
    lang: str | None = None
    enabled: bool = True
    full_text: bool = False


def same_url(a: str, b: str) -> bool:
    """Whether two feed URLs name the same feed: scheme and host compared without case, a
    trailing slash ignored. Pure."""

    def key(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        netloc = f"{host}:{parts.port}" if parts.port else host
        return (parts.scheme.lower(), netloc, parts.path.rstrip("/") or "/", parts.query)

    try:
        return key(a) == key(b)
    except ValueError:
        return a.strip() == b.strip()


class FeedsFile:
    """`feeds.yaml` opened for a round-trip edit. Reads the file on construction; `save` writes.

    Raises ConfigError when the file cannot be read or is not YAML with a `feeds:` list.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.original = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                [f"{path}: file not found (create one with `monitor init`, or pass --config PATH)"]
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError([f"{path}: cannot read: {e}"]) from e
        self.yaml = YAML(typ="rt")
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never fold a long URL or comment onto two lines
        mapping, sequence, offset = guess_indent(self.original)
        self.yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        self.text = self.original
        self._load(self.text)

    def _load(self, text: str) -> None:
        try:
            doc = self.yaml.load(text)
        except YAMLError as e:
            raise ConfigError([f"{self.path}: YAML error: {str(e).splitlines()[0]}"]) from e
        if not isinstance(doc, CommentedMap):
            raise ConfigError([f"{self.path}:1: expected a mapping with 'settings' and 'feeds'"])
        feeds = doc.get("feeds")
        if feeds is None:
            feeds = doc["feeds"] = CommentedSeq()
        if not isinstance(feeds, CommentedSeq):
            raise ConfigError([f"{self.path}: feeds: expected a list of feeds"])
        self.doc: CommentedMap = doc
        self.feeds: CommentedSeq = feeds

    def urls(self) -> list[str]:
        """The URL of every feed item, in file order."""
        return [
            str(item["url"]).strip()
            for item in self.feeds
            if isinstance(item, CommentedMap) and isinstance(item.get("url"), str)
        ]

    def names(self) -> set[str]:
        """Every feed's effective name (its `name`, else its host, as the config does)."""
        out = set()
        for item in self.feeds:
            if isinstance(item, CommentedMap) and isinstance(item.get("url"), str):
                name = item.get("name") or urlsplit(str(item["url"]).strip()).hostname or ""
                out.add(str(name).strip())
        return out

    def find(self, url: str) -> str | None:
        """The URL as written in the file when it already lists `url`, else None."""
        return next((u for u in self.urls() if same_url(u, url)), None)

    def add(self, feed: NewFeed) -> str:
        """Append `feed` at the end of `feeds:`; return the name it got. UsageError if listed."""
        known = self.find(feed.url)
        if known is not None:
            raise UsageError(f"{self.path}: already follows {known}")
        name = feed.name.strip() if feed.name else self.unique_name(feed.title, feed.url)
        if feed.name and name in self.names():
            raise UsageError(f"{self.path}: a feed is already named {name!r} (choose --name)")
        item = CommentedMap()
        item["url"] = feed.url
        item["name"] = name
        if feed.lang:
            item["lang"] = feed.lang
        if not feed.enabled:
            item["enabled"] = False
        if feed.full_text:
            item["full_text"] = True
        self.feeds.append(item)
        out = io.StringIO()
        self.yaml.dump(self.doc, out)
        self.text = out.getvalue()
        self._load(self.text)
        return name

    def unique_name(self, title: str, url: str) -> str:
        """A name for a new feed: its title (else its host), made unique within the file."""
        base = " ".join(title.split())[:_MAX_NAME] or urlsplit(url).hostname or url
        taken = self.names()
        if base not in taken:
            return base
        host = urlsplit(url).hostname or ""
        candidate = f"{base} ({host})" if host and host not in base else base
        number = 2
        while candidate in taken:
            candidate = f"{base} ({number})"
            number += 1
        return candidate

    def remove(self, url: str) -> str:
        """Remove the feed with this URL; return the URL as it was written. UsageError if absent.

        Removes the item's own lines (with any comment at their ends) from the text and nothing
        else: a comment block above the item stays, and the comments above the next item,
        which ruamel would attach to the removed one, are not lost with it.
        """
        for i, item in enumerate(self.feeds):
            if (
                isinstance(item, CommentedMap)
                and isinstance(item.get("url"), str)
                and same_url(str(item["url"]), url)
            ):
                written = str(item["url"]).strip()
                self._cut_item(i)
                return written
        raise UsageError(f"{self.path}: does not follow {url} (see `monitor feeds list`)")

    def _cut_item(self, index: int) -> None:
        lines = self.text.splitlines(keepends=True)
        start = self.feeds[index].lc.line  # the line of the item's first key, after "- "
        if index + 1 < len(self.feeds):
            stop = self.feeds[index + 1].lc.line
        else:
            stop = self._end_of_feeds(len(lines))
        end = stop  # exclusive; back over the blank and comment lines that precede what follows
        while end > start + 1 and _is_blank_or_comment(lines[end - 1]):
            end -= 1
        self.text = "".join(lines[:start] + lines[end:])
        self._load(self.text)

    def _end_of_feeds(self, total: int) -> int:
        """The line where the top-level key after `feeds:` starts, or the end of the file."""
        keys = list(self.doc)
        after = keys.index("feeds") + 1
        return int(self.doc.lc.key(keys[after])[0]) if after < len(keys) else total

    def render(self) -> str:
        """The edited document as text."""
        return self.text

    def save(self) -> None:
        """Check the edited file with `load_config`, then replace `path` atomically.

        Raises ConfigError (naming `path`, not the temporary file) when the result would not
        load; the file is then left untouched."""
        from monitor.config import load_config

        text = self.render()
        tmp = _temp_beside(self.path, text)
        try:
            try:
                load_config(tmp)
            except ConfigError as e:
                problems = [p.replace(str(tmp), str(self.path)) for p in e.problems]
                raise ConfigError(
                    [f"{self.path}: not changed: the edit would make it invalid", *problems]
                ) from None
            _replace_keeping_mode(tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _is_blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the user wrote `feeds.yaml`. Pure.

    ruamel.yaml re-indents the whole document with one style on dump, so the style is read
    from the file itself: the first nested mapping key gives the mapping indent, the first
    `- ` item gives the dash offset and where the item's keys start. Defaults: 2, 4, 2.
    """
    mapping, sequence, offset = 2, 4, 2
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    found_map = found_seq = False
    for previous, line in itertools.pairwise(lines):
        if not previous.rstrip().endswith(":") or previous.startswith((" ", "-")):
            continue  # only the children of top-level keys tell the style plainly
        indent = len(line) - len(line.lstrip(" "))
        item = re.match(r"^( *)-( +)\S", line)
        if item and not found_seq:
            offset = len(item.group(1))
            sequence = offset + 1 + len(item.group(2))
            found_seq = True
        elif not item and indent > 0 and not found_map:
            mapping = indent
            found_map = True
    return mapping, max(sequence, offset + 2), offset


def _temp_beside(path: Path, text: str) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return Path(name)


def _replace_keeping_mode(tmp: Path, path: Path) -> None:
    """os.replace, with the old file's permissions (and owner, when we may set it)."""
    with contextlib.suppress(FileNotFoundError):
        st = path.stat()
        os.chmod(tmp, st.st_mode & 0o7777)
        if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, path)


def write_preserving(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, keeping an existing file's permissions."""
    tmp = _temp_beside(path, text)
    try:
        _replace_keeping_mode(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


# --- finding a feed ------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundFeed:
    """A URL that answered with a feed."""

    url: str  # the feed's URL: the one given, or the one discovered on the page given
    title: str
    lang: str | None
    entries: int
    problem: str | None = None  # the document was malformed but readable
    page: str | None = None  # the web page the feed was discovered on, if any


class _FeedLinks(HTMLParser):
    """Collects `<link rel="alternate" type="(feed type)" href>` and `<base href>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        if tag != "link":
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.links.append(values["href"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def discover_feed_links(html: str, page_url: str) -> list[str]:
    """Feed URLs a web page announces, absolute, http(s) only, in page order, no repeats. Pure."""
    parser = _FeedLinks()
    with contextlib.suppress(AssertionError):  # HTMLParser gives up on some broken markup
        parser.feed(html)
        parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    out: list[str] = []
    for href in parser.links:
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https") and url not in out:
            out.append(url)
    return out


async def find_feed(fetcher: Fetcher, url: str, *, lang: str | None = None) -> FoundFeed:
    """Fetch `url`; return the feed it is, or the first working feed its page links to.

    Does network I/O. Raises FetchError (exit 1) when the URL cannot be fetched, or neither it
    nor any feed it links to parses as a feed.
    """
    result = await fetcher.fetch(url, Validators())
    if result.status is not FetchStatus.OK:
        raise FetchError(url, result.error or result.status.value)
    parsed = parse_feed(result.body, result.headers, feed_url=result.final_url, lang=lang)
    if parsed.entries or parsed.problem is None:
        return FoundFeed(url, parsed.title, parsed.lang, len(parsed.entries), parsed.problem)
    text = result.body.decode(_charset(result.headers), errors="replace")
    candidates = discover_feed_links(text, result.final_url)[:_MAX_CANDIDATES]
    if not candidates:
        raise FetchError(
            url,
            f"not a feed ({parsed.problem}), and no feed is linked from it "
            '(<link rel="alternate" type="application/rss+xml" href=...>)',
        )
    reasons = []
    for candidate in candidates:
        found = await fetcher.fetch(candidate, Validators())
        if found.status is not FetchStatus.OK:
            reasons.append(f"{candidate}: {found.error or found.status.value}")
            continue
        feed = parse_feed(found.body, found.headers, feed_url=candidate, lang=lang)
        if feed.entries or feed.problem is None:
            return FoundFeed(
                candidate, feed.title, feed.lang, len(feed.entries), feed.problem, page=url
            )
        reasons.append(f"{candidate}: {feed.problem}")
    raise FetchError(url, "the feeds this page links to do not work: " + "; ".join(reasons))


def _charset(headers: dict[str, str]) -> str:
    match = re.search(r"charset=([\w.:-]+)", headers.get("content-type", ""), re.IGNORECASE)
    if match:
        with contextlib.suppress(LookupError):
            return codecs.lookup(match.group(1)).name
    return "utf-8"


# --- checking every feed -------------------------------------------------------------------


@dataclass(frozen=True)
class FeedCheck:
    """What one fetch of one configured feed gave."""

    feed: FeedConfig
    status: str  # ok, error, gone, not_a_feed, disabled
    entries: int = 0
    error: str | None = None
    problem: str | None = None  # a malformed but readable document
    moved_to: str | None = None  # a permanent redirect's target
    elapsed: float = 0.0


async def check_feeds(
    feeds: Sequence[FeedConfig], settings: Settings, *, fetcher: Fetcher | None = None
) -> list[FeedCheck]:
    """Fetch every enabled feed once, concurrently within the configured limits, and parse it.

    Does network I/O; touches no database. Disabled feeds are reported, not fetched. In the
    order of `feeds`.
    """
    if fetcher is None:
        async with Fetcher(settings) as own:
            return await check_feeds(feeds, settings, fetcher=own)
    return list(await asyncio.gather(*(_check_one(fetcher, f) for f in feeds)))


async def _check_one(fetcher: Fetcher, feed: FeedConfig) -> FeedCheck:
    if not feed.enabled:
        return FeedCheck(feed, "disabled")
    result = await fetcher.fetch(feed.url, Validators())
    moved = result.permanent_redirect
    if result.status is FetchStatus.GONE:
        return FeedCheck(feed, "gone", error=result.error, elapsed=result.elapsed)
    if result.status is not FetchStatus.OK:
        return FeedCheck(feed, "error", error=result.error, moved_to=moved, elapsed=result.elapsed)
    parsed = await asyncio.to_thread(
        parse_feed, result.body, result.headers, feed_url=result.final_url, lang=feed.lang
    )
    if not parsed.entries and parsed.problem:
        return FeedCheck(
            feed, "not_a_feed", error=parsed.problem, moved_to=moved, elapsed=result.elapsed
        )
    return FeedCheck(
        feed,
        "ok",
        entries=len(parsed.entries),
        problem=parsed.problem,
        moved_to=moved,
        elapsed=result.elapsed,
    )


def summarize_checks(checks: Iterable[FeedCheck]) -> str:
    """`checked 12 feeds: 10 ok, 2 failing, 1 disabled`. Pure."""
    checks = list(checks)
    ok = sum(1 for c in checks if c.status == "ok")
    disabled = sum(1 for c in checks if c.status == "disabled")
    failing = len(checks) - ok - disabled
    text = f"checked {len(checks) - disabled} feeds: {ok} ok, {failing} failing"
    return text + (f", {disabled} disabled (not fetched)" if disabled else "")
