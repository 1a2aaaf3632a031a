"""Helpers shared by the analysis tests: build entries, run the packaged analyzer once."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from monitor.analyze import Analyzer
from monitor.models import Analysis, Entry

WHEN = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def analyzer() -> Analyzer:
    return Analyzer.load()


def entry(
    title: str,
    summary: str = "",
    lang: str | None = "en",
    published: datetime | None = WHEN,
    content: str = "",
) -> Entry:
    return Entry(
        id="t1",
        feed_key="t1",
        url="https://example.org/a",
        title=title,
        summary=summary,
        content=content,
        published=published,
        updated=None,
        lang=lang,
    )


def analyze(title: str, summary: str = "", lang: str | None = "en", **kw: object) -> Analysis:
    return analyzer().analyze(entry(title, summary, lang, **kw))  # type: ignore[arg-type]


def triples(a: Analysis) -> set[tuple[str, str, str]]:
    return {(c.actor, c.stance, c.issue) for c in a.claims}
