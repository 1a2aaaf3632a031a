"""Full text for feeds that carry only a teaser (`full_text: true` on the feed).

`fetch_full_texts` fetches the article pages of new entries with the run's `Fetcher` (so the
same politeness, caps and timeouts apply), extracts the main text with trafilatura, and keeps
every page in a `PageCache` (the store's `pages` table), so no page is fetched twice: a page
that gave text, or gave none, is never fetched again; a failed fetch is retried on later polls
up to `MAX_ATTEMPTS` times in all. `with_full_text` (pure) gives the analysis an entry that
reads the article. trafilatura is optional (`talks-monitor[fulltext]`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from monitor.fetch import Fetcher
from monitor.models import PAGE_MAX_ATTEMPTS, Entry, FetchStatus, Page, Settings, Validators
from monitor.parse import MAX_CONTENT

__all__ = [
    "MAX_ATTEMPTS",
    "TEASER_CHARS",
    "Page",
    "PageCache",
    "cached_full_texts",
    "extract_text",
    "fetch_full_texts",
    "needs_full_text",
    "with_full_text",
]

log = logging.getLogger(__name__)

TEASER_CHARS = 1500  # an entry whose feed text is this long already carries the article
MAX_ATTEMPTS = PAGE_MAX_ATTEMPTS  # fetches of one page, in all, before it is given up
_PERMANENT = frozenset({400, 401, 403, 404, 405, 410, 451})  # retrying will not help
_MIN_TEXT = 200  # less than this is a cookie banner or a paywall notice, not an article


class PageCache(Protocol):
    """Where pages are kept between runs: the store implements it (table `pages`)."""

    def pages(self, urls: Sequence[str]) -> dict[str, Page]:
        """The cached page of each of `urls` that has one."""
        ...

    def put_page(self, page: Page) -> None:
        """Insert or replace the page cached for `page.url`."""
        ...


def needs_full_text(entry: Entry) -> bool:
    """Whether an entry is a teaser worth completing: it has an http(s) link and its feed text
    is shorter than TEASER_CHARS. Pure."""
    if not entry.url or urlsplit(entry.url).scheme not in ("http", "https"):
        return False
    return len(entry.content or entry.summary) < TEASER_CHARS


def with_full_text(entry: Entry, text: str) -> Entry:
    """The entry with the article text as its content, when that says more than the feed. Pure.

    Give this to the analysis only; store the entry as the feed gave it, so its fingerprint
    (and so change detection) keeps following the feed.
    """
    if len(text) <= len(entry.content):
        return entry
    return replace(entry, content=text[:MAX_CONTENT])


def cached_full_texts(entries: Sequence[Entry], cache: PageCache) -> dict[str, str]:
    """entry id → article text from the cache alone (no network): for `reclassify`."""
    urls = sorted({e.url for e in entries if e.url})
    pages = cache.pages(urls) if urls else {}
    return {
        e.id: pages[e.url].text
        for e in entries
        if e.url in pages and pages[e.url].status == "ok" and e.url is not None
    }


def extract_text(html: bytes, url: str) -> str:
    """The main text of an article page, as one plain-text string ("" when none is found).

    Pure CPU work (trafilatura on lxml): boilerplate, navigation, comments and tables are left
    out. Whitespace is collapsed as the parser does for feed text; capped at MAX_CONTENT.
    """
    import trafilatura

    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
    )
    text = " ".join((text or "").split())
    return text[:MAX_CONTENT] if len(text) >= _MIN_TEXT else ""


async def fetch_full_texts(
    entries: Sequence[Entry],
    settings: Settings,
    cache: PageCache,
    *,
    now: datetime,
    fetcher: Fetcher | None = None,
) -> dict[str, str]:
    """entry id → article text, for the entries that `needs_full_text`.

    Does network I/O through `fetcher` (the run's, so limits are shared; a new one from
    `settings` when None) and writes each attempt to `cache`. Pages the cache has settled are
    not fetched; a page linked from several entries is fetched once. `now` stamps the attempts.
    Never raises for a page that cannot be fetched or read: that entry keeps its teaser.
    """
    wanted = [e for e in entries if needs_full_text(e)]
    urls = sorted({e.url for e in wanted if e.url})
    if not urls:
        return {}
    cached = cache.pages(urls)
    todo = [u for u in urls if u not in cached or not cached[u].settled]
    if todo:
        if fetcher is None:
            async with Fetcher(settings) as own:
                fresh = await _fetch_pages(own, todo, cached, now)
        else:
            fresh = await _fetch_pages(fetcher, todo, cached, now)
        for page in fresh:
            cache.put_page(page)
            cached[page.url] = page
    return {
        e.id: cached[e.url].text
        for e in wanted
        if e.url in cached and cached[e.url].status == "ok" and e.url is not None
    }


async def _fetch_pages(
    fetcher: Fetcher, urls: Sequence[str], cached: Mapping[str, Page], now: datetime
) -> list[Page]:
    return list(await asyncio.gather(*(_fetch_page(fetcher, u, cached.get(u), now) for u in urls)))


async def _fetch_page(fetcher: Fetcher, url: str, before: Page | None, now: datetime) -> Page:
    attempts = (before.attempts if before else 0) + 1
    result = await fetcher.fetch(url, Validators())
    if result.status is not FetchStatus.OK:
        permanent = result.status is FetchStatus.GONE or result.http_status in _PERMANENT
        page = Page(
            url,
            now,
            "error",
            error=result.error or result.status.value,
            attempts=MAX_ATTEMPTS if permanent else attempts,
        )
    elif not _is_html(result.headers.get("content-type", "")):
        kind = result.headers.get("content-type", "").split(";")[0].strip()
        page = Page(url, now, "empty", error=f"not an HTML page ({kind})", attempts=attempts)
    else:
        text = await asyncio.to_thread(extract_text, result.body, result.final_url)
        status = "ok" if text else "empty"
        error = None if text else "no article text found"
        page = Page(url, now, status, text=text, error=error, attempts=attempts)
    log.info(
        "page url=%s status=%s chars=%d%s",
        url,
        page.status,
        len(page.text),
        f" error={page.error!r}" if page.error else "",
    )
    return page


def _is_html(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return not kind or bool(re.fullmatch(r"text/html|application/xhtml\+xml", kind))
