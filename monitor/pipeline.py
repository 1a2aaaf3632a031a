"""One poll run: the only code that calls several stages.

fetch (async, bounded) → parse → analyze → store, feed by feed; then story grouping for the
run's new relevant entries. Each feed's results are stored in one transaction; one feed's
failure is recorded on that feed and never stops the run. Time comes from `clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Union
from zoneinfo import ZoneInfo

from monitor.models import (
    Analysis,
    Config,
    Entry,
    FeedOutcome,
    FeedState,
    FetchResult,
    FetchStatus,
    RunSummary,
)
from monitor.store import EntryRef, Store, from_text

# Story grouping, the rules and the digest are imported where they are used: a poll that finds
# nothing due, or only 304s, never needs them (start-up was 1 s); fetching and parsing (httpx,
# feedparser) likewise, so that `monitor digest` does not load them.
if TYPE_CHECKING:
    from monitor.analyze import Analyzer
    from monitor.digest import DigestDay
    from monitor.fetch import Fetcher
    from monitor.stories import StoryItem

log = logging.getLogger(__name__)

STORY_WINDOW = timedelta(hours=72)
# 304s are recorded in batches, one transaction for many feeds instead of a commit each (300
# commits took 0.05 s of the busy main process). A killed poll loses at most a batch of "checked
# at" times: those feeds are due again, and nothing stored is lost.
UNCHANGED_BATCH = 64

Clock = Callable[[], datetime]

# An analyzer, or how to load one (`lambda: Analyzer.load(extra)`): a run then loads the rules
# (about 1 s) only when some feed has a new document, never for a run of 304s.
AnalyzerSource = Union["Analyzer", Callable[[], "Analyzer"]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_store(config: Config) -> Store:
    """Open the configured database, follow `feeds.yaml`, and seed the novelty ledger."""
    from monitor.analyze import known_positions, rules_version

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
    analyzer: AnalyzerSource,
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
    `analyzer` may be a loader, called (in each parse worker) only when a document must be
    analysed.
    """
    started = clock()
    _note_rules(store, _version_of(analyzer, config))
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
    poller = _Poller(config, store, clock, rng or random.Random(), on_outcome, stop)
    # The workers are forked here, before the event loop and its threads exist.
    with _parse_workers(_preloaded(analyzer, todo), len(todo)) as workers:
        poller.workers = workers
        outcomes.extend(asyncio.run(poller.poll(todo)))
    store.index_pending()
    poller.group_stories()
    finished = clock()
    outcomes.sort(key=lambda o: (o.name, o.url))
    return RunSummary(tuple(outcomes), started, finished)


def _preloaded(analyzer: AnalyzerSource, todo: Sequence[FeedState]) -> AnalyzerSource:
    """The analyzer itself, loaded now, when the run is sure to need it: a feed never fetched
    before has nothing but new entries. Loaded before the workers fork, they share it
    copy-on-write instead of each loading it, with the parser and the Ukrainian and Russian
    morphology when a feed may carry those languages (about 40 MB a process).
    Otherwise the loader, so that a run of 304s loads neither the rules nor the parser (the
    workers import it at their first document)."""
    from monitor.analyze import Analyzer

    if not isinstance(analyzer, Analyzer):
        if all(f.last_success is not None for f in todo):
            return analyzer
        analyzer = analyzer()
    analyzer.warm(f.lang for f in todo)
    import monitor.parse  # noqa: F401  (feedparser and fastfeed: 0.1 s, shared as well)

    return analyzer


def _version_of(analyzer: AnalyzerSource, config: Config) -> str:
    """The rules version without loading the rules (it hashes the rule files)."""
    from monitor.analyze import Analyzer, rules_version

    if isinstance(analyzer, Analyzer):
        return analyzer.version
    return rules_version(config.analysis)


def _note_rules(store: Store, version: str) -> None:
    """Remember which rules analysed the stored entries; say so when the rules have changed."""
    analysed_with = store.get_meta("analysed_with")
    if analysed_with is None:
        store.set_meta("analysed_with", version)
    elif analysed_with != version:
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
        clock: Clock,
        rng: random.Random,
        on_outcome: Callable[[FeedOutcome], None] | None,
        stop: threading.Event | None,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.store = store
        self.clock = clock
        self.rng = rng
        self.on_outcome = on_outcome
        self.stop = stop
        self.new_relevant: list[str] = []
        self.full_text_feeds = {f.url for f in config.feeds if f.full_text}
        self.workers: Executor | None = None
        self.unchanged: list[tuple[FeedState, FetchResult, datetime]] = []

    async def poll(self, feeds: Sequence[FeedState]) -> list[FeedOutcome]:
        from monitor.fetch import Fetcher

        try:
            async with Fetcher(self.settings) as fetcher:
                tasks = [asyncio.create_task(self._one(fetcher, feed)) for feed in feeds]
                return list(await asyncio.gather(*tasks))
        finally:
            self._record_unchanged()

    async def _one(self, fetcher: Fetcher, feed: FeedState) -> FeedOutcome:
        if self.stop is not None and self.stop.is_set():
            outcome = FeedOutcome(feed.url, feed.name, "skipped", error="stopping")
        else:
            result = await fetcher.fetch(feed.url, feed.validators)
            parsed: _Parsed | None = None
            items: list[tuple[Entry, Analysis]] = []
            if result.status is FetchStatus.OK:
                known = self.store.known_fingerprints(feed.url)
                # Parsing and analysis are CPU work: keep the event loop free for the fetches,
                # and (in worker processes) off this process's GIL.
                parsed, items = await asyncio.get_running_loop().run_in_executor(
                    self.workers,
                    _parse_and_analyze_in_worker,
                    result.body,
                    result.headers,
                    result.final_url,
                    feed.lang,
                    known,
                )
            if items and feed.url in self.full_text_feeds:
                items = await self._with_full_text(fetcher, items)
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

    async def _with_full_text(
        self, fetcher: Fetcher, items: list[tuple[Entry, Analysis]]
    ) -> list[tuple[Entry, Analysis]]:
        """For a `full_text: true` feed: fetch the article pages of teaser entries (politely,
        cached) and analyze the full text. The entry is stored as the feed gave it, so its
        fingerprint keeps following the feed."""
        from monitor.fulltext import fetch_full_texts, with_full_text

        texts = await fetch_full_texts(
            [e for e, _ in items], self.settings, self.store, now=self.clock(), fetcher=fetcher
        )
        if not texts:
            return items
        analyzer = await asyncio.to_thread(_worker_analyzer)
        return [
            (e, analyzer.analyze(with_full_text(e, texts[e.id])) if e.id in texts else a)
            for e, a in items
        ]

    def _store(
        self,
        feed: FeedState,
        result: FetchResult,
        parsed: _Parsed | None,
        items: list[tuple[Entry, Analysis]],
    ) -> FeedOutcome:
        now = self.clock()
        if result.status is FetchStatus.NOT_MODIFIED:
            self.unchanged.append((feed, result, now))
            if len(self.unchanged) >= UNCHANGED_BATCH:
                self._record_unchanged()
            return FeedOutcome(
                feed.url,
                feed.name,
                result.status.value,
                elapsed=result.elapsed,
                permanent_redirect=result.permanent_redirect,
            )
        if result.status is not FetchStatus.OK or parsed is None:
            return self._failure(feed, result, now, result.error or result.status.value)
        if parsed.empty and parsed.problem:
            # Not a feed at all (an HTML page, garbage): a failure, and nothing stored is touched.
            return self._failure(feed, result, now, parsed.problem)
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

    def _record_unchanged(self) -> None:
        """Record the 304s not yet recorded, in one transaction."""
        pending, self.unchanged = self.unchanged, []
        if pending:
            with self.store.transaction():
                for feed, result, now in pending:
                    self._success(feed, result, now, title=None, problem=feed.problem)

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
    ) -> FeedOutcome:
        from monitor.fetch import next_attempt

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
        """Give the run's new relevant entries a story: join a recent one or start their own.
        Each report's grouping features are stored with it and read back while still valid
        (see `stories.features_digest`), so later polls need not derive them again."""
        if not self.new_relevant:
            return
        from monitor.stories import (
            StoryItem,
            assign_stories,
            decode_features,
            encode_features,
            features_digest,
            story_keys,
        )

        now = self.clock()
        new_ids = set(self.new_relevant)
        recent = self.store.relevant_since(now - STORY_WINDOW)
        to_save: list[tuple[str, str, str]] = []

        def item(ref: EntryRef) -> StoryItem:
            # The analysis as stored: its claims and matched terms line reports up across
            # languages.
            analysis = Analysis(True, 1.0, ref.evidence, ref.claims)
            found = StoryItem(
                id=ref.id,
                text=f"{ref.title}\n{ref.summary}",
                lang=ref.lang,
                when=ref.first_seen,
                keys=story_keys(analysis),
            )
            digest = features_digest(found)
            if ref.features is not None and ref.features[0] == digest:
                with contextlib.suppress(ValueError):  # unreadable: derived again below
                    return replace(found, features=decode_features(ref.features[1]))
            data = encode_features(found)
            if data is not None:
                to_save.append((ref.id, digest, data))
            return found

        fresh = [item(r) for r in recent if r.id in new_ids]
        known = [(item(r), r.story) for r in recent if r.id not in new_ids and r.story]
        assigned = assign_stories(fresh, known)
        with self.store.transaction():
            self.store.set_stories(assigned)
            self.store.save_story_features(to_save)


# --- parsing and analysis off the event loop ------------------------------------------------

# Below this many feeds in a run, parsing stays in a thread of this process: forking workers
# costs more than it saves.
POOL_MIN_FEEDS = 16

# Per worker process (or, without a pool, per run in this process): where the analyzer comes
# from, and the analyzer once loaded.
_analyzer_source: AnalyzerSource | None = None
_analyzer: Analyzer | None = None
_analyzer_lock = threading.Lock()


def _set_analyzer_source(source: AnalyzerSource) -> None:
    global _analyzer_source, _analyzer
    _analyzer_source, _analyzer = source, None


def _worker_analyzer() -> Analyzer:
    """The analyzer of this worker, loaded on first use."""
    global _analyzer
    with _analyzer_lock:
        if _analyzer is None:
            from monitor.analyze import Analyzer

            source = _analyzer_source
            assert source is not None
            _analyzer = source if isinstance(source, Analyzer) else source()
        return _analyzer


@contextmanager
def _parse_workers(analyzer: AnalyzerSource, feeds: int) -> Iterator[Executor | None]:
    """Where parse + analyze run: a pool of forked worker processes, one per CPU, when the run is
    big enough, there are several CPUs and `fork` exists; else None (a thread of this process).

    Parsing (feedparser) and the rules are pure Python: in threads they share one GIL with the
    event loop and the store, in processes they use every core. Forked workers start at once and
    share the loaded modules (and the analyzer, when it is already loaded) copy-on-write. They
    are forked before the event loop starts, and only ever run `_parse_and_analyze_in_worker`:
    they never touch the inherited database connection.
    """
    _set_analyzer_source(analyzer)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (
        feeds < POOL_MIN_FEEDS
        or (cpus or 1) < 2
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        yield None
        return
    pool = ProcessPoolExecutor(
        max_workers=cpus,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(int).result()  # fork every worker now, while this process has one thread
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _die_with_parent(parent: int) -> None:
    """Worker start-up: never outlive the poll. A worker holds a copy of every descriptor of the
    poll, the poll lock's among them; an orphan (the poll killed by cron, systemd or the OOM
    killer) would keep the lock, and every later poll would find "another poll is running"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the poll's to handle
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the poll died before the line above
        os._exit(1)
    if sys.platform != "linux":  # no PR_SET_PDEATHSIG: watch the parent
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.1)
    os._exit(1)


@dataclass(frozen=True)
class _Parsed:
    """What storing needs of a parsed document besides its new or changed entries (which travel
    as `items`): sending every entry back from a worker would double what is pickled."""

    title: str
    problem: str | None
    empty: bool


def _parse_and_analyze_in_worker(
    body: bytes, headers: dict[str, str], url: str, lang: str | None, known: dict[str, str]
) -> tuple[_Parsed, list[tuple[Entry, Analysis]]]:
    """Parse the document and analyze the entries that are new or changed (pure work, in a
    worker process or a thread; the analyzer is loaded on first use)."""
    from monitor.parse import parse_feed

    parsed = parse_feed(body, headers, feed_url=url, lang=lang)
    head = _Parsed(title=parsed.title, problem=parsed.problem, empty=not parsed.entries)
    changed = _changed(parsed.entries, known)
    if not changed:
        return head, []
    analyzer = _worker_analyzer()
    return head, [(e, analyzer.analyze(e)) for e in changed]


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
    from monitor.digest import DigestDay, Position

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
    from monitor.digest_files import write_digest

    return write_digest(digest_day(config, store, day), config.settings.digests_dir, html=html)


def reclassify(store: Store, analyzer: Analyzer) -> tuple[int, int]:
    """Re-run the analysis over every stored entry, then rebuild the novelty ledger so that
    `first_reported` and `new` stay consistent. Returns (entries changed, entries seen)."""
    from monitor.fulltext import cached_full_texts, with_full_text

    changed = total = 0
    batch: list[tuple[str, Analysis]] = []
    full_text = store.has_pages()

    def flush() -> None:
        with store.transaction():
            for entry_id, analysis in batch:
                store.replace_analysis(entry_id, analysis)
        batch.clear()

    for stored in store.export_entries():
        total += 1
        entry = stored.entry
        if full_text:
            # What the poll analysed: the cached article text, never fetched again here.
            entry = with_full_text(entry, cached_full_texts([entry], store).get(entry.id, ""))
        analysis = analyzer.analyze(entry)
        before = (stored.relevant, round(stored.score, 6), tuple(c.claim for c in stored.claims))
        if before != (analysis.relevant, round(analysis.score, 6), analysis.claims):
            batch.append((stored.entry.id, analysis))
            changed += 1
        if len(batch) >= 500:
            flush()
    flush()
    from monitor.analyze import known_positions, rules_version

    store.rebuild_ledger(known_positions())
    store.set_meta("seeded_rules", rules_version())
    store.set_meta("analysed_with", analyzer.version)
    return changed, total
