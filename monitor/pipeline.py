"""One poll run: the only code that calls several stages.

fetch (async, bounded) → parse → analyze → store, feed by feed; then story grouping for the
run's new relevant entries. Each feed's results are stored in one transaction; one feed's
failure is recorded on that feed and never stops the run. Time comes from `clock`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.analyze import Analyzer, known_positions, rules_version
from monitor.digest import DigestDay, Position
from monitor.digest_files import write_digest
from monitor.fetch import Fetcher, next_attempt
from monitor.models import (
    Analysis,
    Config,
    Entry,
    FeedOutcome,
    FeedState,
    FetchResult,
    FetchStatus,
    ParsedFeed,
    RunSummary,
)
from monitor.parse import parse_feed
from monitor.store import Store, from_text
from monitor.stories import StoryItem, assign_stories

log = logging.getLogger(__name__)

STORY_WINDOW = timedelta(hours=72)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_store(config: Config) -> Store:
    """Open the configured database, follow `feeds.yaml`, and seed the novelty ledger."""
    store = Store(config.settings.database, timezone=config.settings.timezone)
    try:
        store.sync_feeds(config.feeds)
        version = rules_version()
        if store.get_meta("seeded_rules") != version:
            store.seed_ledger(known_positions())
            store.set_meta("seeded_rules", version)
    except BaseException:
        store.close()
        raise
    return store


def run_once(
    config: Config,
    store: Store,
    analyzer: Analyzer,
    *,
    clock: Clock = utc_now,
    force: bool = False,
    on_outcome: Callable[[FeedOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    rng: random.Random | None = None,
) -> RunSummary:
    """Poll every due feed once (every enabled feed with `force`) and store what they carry.

    Returns the run's summary. Feeds in backoff are reported as `skipped` unless `force`.
    When `stop` is set, feeds not yet started are skipped; feeds in flight finish and are stored.
    """
    started = clock()
    _note_rules(store, analyzer)
    states = store.feed_states(enabled_only=True)
    due = {f.url for f in store.feeds_due(started)} if not force else {f.url for f in states}
    outcomes: list[FeedOutcome] = []
    todo = []
    for feed in states:
        if feed.url in due and not (feed.gone and not force):
            todo.append(feed)
        else:
            why = (
                "gone (410)"
                if feed.gone
                else f"backing off until {feed.next_attempt:%Y-%m-%d %H:%M}Z"
            )
            outcomes.append(FeedOutcome(feed.url, feed.name, "skipped", error=why))
    if on_start:
        on_start(len(todo))
    poller = _Poller(config, store, analyzer, clock, rng or random.Random(), on_outcome, stop)
    outcomes.extend(asyncio.run(poller.poll(todo)))
    poller.group_stories()
    finished = clock()
    outcomes.sort(key=lambda o: (o.name, o.url))
    return RunSummary(tuple(outcomes), started, finished)


def _note_rules(store: Store, analyzer: Analyzer) -> None:
    """Remember which rules analysed the stored entries; say so when the rules have changed."""
    analysed_with = store.get_meta("analysed_with")
    if analysed_with is None:
        store.set_meta("analysed_with", analyzer.version)
    elif analysed_with != analyzer.version:
        log.warning(
            "the analysis rules changed since the stored entries were analysed; "
            "run `monitor reclassify` to re-analyse them"
        )


class _Poller:
    """Holds one run's collaborators; `poll` fetches concurrently and stores feed by feed."""

    def __init__(
        self,
        config: Config,
        store: Store,
        analyzer: Analyzer,
        clock: Clock,
        rng: random.Random,
        on_outcome: Callable[[FeedOutcome], None] | None,
        stop: threading.Event | None,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.store = store
        self.analyzer = analyzer
        self.clock = clock
        self.rng = rng
        self.on_outcome = on_outcome
        self.stop = stop
        self.new_relevant: list[str] = []

    async def poll(self, feeds: Sequence[FeedState]) -> list[FeedOutcome]:
        async with Fetcher(self.settings) as fetcher:
            tasks = [asyncio.create_task(self._one(fetcher, feed)) for feed in feeds]
            return list(await asyncio.gather(*tasks))

    async def _one(self, fetcher: Fetcher, feed: FeedState) -> FeedOutcome:
        if self.stop is not None and self.stop.is_set():
            outcome = FeedOutcome(feed.url, feed.name, "skipped", error="stopping")
        else:
            result = await fetcher.fetch(feed.url, feed.validators)
            parsed: ParsedFeed | None = None
            items: list[tuple[Entry, Analysis]] = []
            if result.status is FetchStatus.OK:
                known = self.store.known_fingerprints(feed.url)
                # Parsing and analysis are CPU work: keep the event loop free for the fetches.
                parsed, items = await asyncio.to_thread(
                    self._parse_and_analyze, feed, result, known
                )
            outcome = self._store(feed, result, parsed, items)
        log.info(
            "feed=%r status=%s new=%d updated=%d elapsed=%.2fs%s%s",
            outcome.name,
            outcome.status,
            outcome.new_entries,
            outcome.updated_entries,
            outcome.elapsed,
            f" error={outcome.error!r}" if outcome.error else "",
            f" moved_to={outcome.permanent_redirect}" if outcome.permanent_redirect else "",
        )
        if self.on_outcome:
            self.on_outcome(outcome)
        return outcome

    def _parse_and_analyze(
        self, feed: FeedState, result: FetchResult, known: dict[str, str]
    ) -> tuple[ParsedFeed, list[tuple[Entry, Analysis]]]:
        """Parse the document and analyze the entries that are new or changed (pure work)."""
        parsed = parse_feed(result.body, result.headers, feed_url=result.final_url, lang=feed.lang)
        return parsed, [(e, self.analyzer.analyze(e)) for e in _changed(parsed.entries, known)]

    def _store(
        self,
        feed: FeedState,
        result: FetchResult,
        parsed: ParsedFeed | None,
        items: list[tuple[Entry, Analysis]],
    ) -> FeedOutcome:
        now = self.clock()
        base = FeedOutcome(
            feed.url,
            feed.name,
            result.status.value,
            elapsed=result.elapsed,
            permanent_redirect=result.permanent_redirect,
        )
        if result.status is FetchStatus.NOT_MODIFIED:
            self._success(feed, result, now, title=None, problem=feed.problem)
            return base
        if result.status is not FetchStatus.OK or parsed is None:
            return self._failure(feed, result, now, result.error or result.status.value, base)
        if not parsed.entries and parsed.problem:
            # Not a feed at all (an HTML page, garbage): a failure, and nothing stored is touched.
            return self._failure(feed, result, now, parsed.problem, base, keep_validators=False)
        with self.store.transaction():
            ingested = self.store.ingest(feed.url, items, now)
            self._success(feed, result, now, title=parsed.title or None, problem=parsed.problem)
        relevant = {e.id for e, a in items if a.relevant}
        self.new_relevant.extend(i for i in ingested.new if i in relevant)
        return FeedOutcome(
            feed.url,
            feed.name,
            "ok",
            new_entries=len(ingested.new),
            updated_entries=len(ingested.updated),
            problem=parsed.problem,
            permanent_redirect=result.permanent_redirect,
            elapsed=result.elapsed,
        )

    def _success(
        self,
        feed: FeedState,
        result: FetchResult,
        now: datetime,
        *,
        title: str | None,
        problem: str | None,
    ) -> None:
        self.store.record_success(
            feed.url,
            now=now,
            next_attempt=now,  # due again at the next scheduled poll
            validators=result.validators,
            title=title,
            problem=problem,
            redirected_to=result.permanent_redirect,
        )

    def _failure(
        self,
        feed: FeedState,
        result: FetchResult,
        now: datetime,
        error: str,
        base: FeedOutcome,
        *,
        keep_validators: bool = True,
    ) -> FeedOutcome:
        gone = result.status is FetchStatus.GONE
        failures = self.store.feed_failures(feed.url) + 1
        retry = next_attempt(
            now,
            failures,
            self.settings.poll_interval,
            self.settings.max_backoff,
            result.retry_after,
            self.rng,
        )
        message = "410 Gone: the feed was removed; polling stopped" if gone else error
        self.store.record_failure(feed.url, now=now, error=message, next_attempt=retry, gone=gone)
        return FeedOutcome(
            feed.url,
            feed.name,
            "gone" if gone else "error",
            error=message,
            elapsed=result.elapsed,
            permanent_redirect=result.permanent_redirect,
        )

    def group_stories(self) -> None:
        """Give the run's new relevant entries a story: join a recent one or start their own."""
        if not self.new_relevant:
            return
        now = self.clock()
        new_ids = set(self.new_relevant)
        recent = self.store.relevant_since(now - STORY_WINDOW)

        def item(
            ref_id: str, title: str, summary: str, lang: str | None, when: datetime
        ) -> StoryItem:
            return StoryItem(id=ref_id, text=f"{title}\n{summary}", lang=lang, when=when)

        fresh = [
            item(r.id, r.title, r.summary, r.lang, r.first_seen) for r in recent if r.id in new_ids
        ]
        known = [
            (item(r.id, r.title, r.summary, r.lang, r.first_seen), r.story)
            for r in recent
            if r.id not in new_ids and r.story
        ]
        assigned = assign_stories(fresh, known)
        with self.store.transaction():
            self.store.set_stories(assigned)


def _changed(entries: Sequence[Entry], known: dict[str, str]) -> list[Entry]:
    """Entries new to their feed or changed since stored; known ones are skipped cheaply."""
    seen: set[str] = set()
    changed = []
    for entry in entries:
        if entry.feed_key in seen:
            continue  # the same item twice in one document
        seen.add(entry.feed_key)
        if known.get(entry.feed_key) != entry.fingerprint:
            changed.append(entry)
    return changed


def day_window(day: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in `timezone`, as UTC. DST-safe: 23 or 25 hours when
    the clocks change, so every moment falls in exactly one day."""
    zone = ZoneInfo(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def digest_day(config: Config, store: Store, day: date) -> DigestDay:
    """Gather from the store everything the digest of `day` shows."""
    start, end = day_window(day, config.settings.timezone)
    entries = tuple(store.entries_first_seen_between(start, end, relevant_only=True))
    sources = store.sources_of([s.entry.id for s in entries])
    positions = tuple(
        Position(
            actor=row["actor"],
            issue=row["issue"],
            stance=row["stance"],
            detail=row["detail"],
            reported=from_text(row["first_seen"]) or start,
            evidence=row["evidence"],
            url=row["url"],
        )
        for row in store.latest_positions(end)
    )
    return DigestDay(
        day=day,
        timezone=config.settings.timezone,
        entries=entries,
        sources={k: tuple(v) for k, v in sources.items()},
        total_seen=store.count_first_seen_between(start, end),
        positions=positions,
        feeds=tuple(store.feed_states(enabled_only=True)),
    )


def write_digest_for(config: Config, store: Store, day: date, *, html: bool = False) -> Path:
    """Rebuild the digest of `day` from the database and write it atomically."""
    return write_digest(digest_day(config, store, day), config.settings.digests_dir, html=html)


def reclassify(store: Store, analyzer: Analyzer) -> tuple[int, int]:
    """Re-run the analysis over every stored entry, then rebuild the novelty ledger so that
    `first_reported` and `new` stay consistent. Returns (entries changed, entries seen)."""
    changed = total = 0
    batch: list[tuple[str, Analysis]] = []

    def flush() -> None:
        with store.transaction():
            for entry_id, analysis in batch:
                store.replace_analysis(entry_id, analysis)
        batch.clear()

    for stored in store.export_entries():
        total += 1
        analysis = analyzer.analyze(stored.entry)
        before = (stored.relevant, round(stored.score, 6), tuple(c.claim for c in stored.claims))
        if before != (analysis.relevant, round(analysis.score, 6), analysis.claims):
            batch.append((stored.entry.id, analysis))
            changed += 1
        if len(batch) >= 500:
            flush()
    flush()
    store.rebuild_ledger(known_positions())
    store.set_meta("seeded_rules", rules_version())
    store.set_meta("analysed_with", analyzer.version)
    return changed, total
