"""The SQLite store: every SQL statement of the monitor lives here.

In: records from `models`. Out: records. Does I/O on one database file (WAL mode), through
sqlite-utils for schema work (tables, full-text search) and plain SQL for the hot paths.
Methods are named for what they mean (`feeds_due`, `entries_first_seen_between`); each feed's
results are written in one transaction, so a killed process leaves whole feeds or nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from monitor.errors import LockHeld, StoreError
from monitor.models import (
    Analysis,
    Claim,
    Entry,
    FeedConfig,
    FeedState,
    Page,
    StoredClaim,
    StoredEntry,
    Validators,
)

# sqlite-utils (its full-text search and table helpers) is imported where it is used: importing
# it costs about 0.15 s, more than a whole 304-only poll spends on the database.
if TYPE_CHECKING:
    import sqlite_utils

# --- time as text --------------------------------------------------------------------------
# Times are stored as UTC ISO 8601 text with a Z, at second resolution, so that text order
# is time order and the database reads well in any SQLite browser.


def to_text(moment: datetime | None) -> str | None:
    """UTC-aware datetime → '2025-06-02T10:00:00Z' (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_text(text: str | None) -> datetime | None:
    """The inverse of `to_text`."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _required(text: str | None) -> datetime:
    moment = from_text(text)
    if moment is None:
        raise StoreError("database holds a row without a required time; run `monitor doctor`")
    return moment


# --- schema --------------------------------------------------------------------------------


def _m1_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            lang TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            title TEXT,
            etag TEXT,
            last_modified TEXT,
            last_attempt TEXT,
            last_success TEXT,
            last_error TEXT,
            error_since TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            next_attempt TEXT,
            gone INTEGER NOT NULL DEFAULT 0,
            redirected_to TEXT,
            problem TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE entries (
            id TEXT PRIMARY KEY,
            url TEXT,
            title TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            published TEXT,
            updated TEXT,
            lang TEXT,
            fingerprint TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            changed TEXT NOT NULL,
            relevant INTEGER NOT NULL DEFAULT 0,
            score REAL NOT NULL DEFAULT 0,
            evidence TEXT NOT NULL DEFAULT '[]',
            story TEXT
        )"""
    )
    db.execute("CREATE INDEX entries_url ON entries(url)")
    db.execute("CREATE INDEX entries_first_seen ON entries(first_seen)")
    db.execute("CREATE INDEX entries_story ON entries(story)")
    db.execute(
        """
        CREATE TABLE sightings (
            feed_url TEXT NOT NULL REFERENCES feeds(url),
            feed_key TEXT NOT NULL,
            entry_id TEXT NOT NULL REFERENCES entries(id),
            fingerprint TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (feed_url, feed_key)
        )"""
    )
    db.execute("CREATE INDEX sightings_entry ON sightings(entry_id)")
    db.execute(
        """
        CREATE TABLE claims (
            entry_id TEXT NOT NULL REFERENCES entries(id),
            seq INTEGER NOT NULL,
            actor TEXT NOT NULL,
            stance TEXT NOT NULL,
            issue TEXT NOT NULL,
            target TEXT,
            detail TEXT NOT NULL DEFAULT '',
            evidence TEXT NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (entry_id, seq)
        )"""
    )
    db.execute("CREATE INDEX claims_key ON claims(actor, stance, issue, detail)")
    # The novelty ledger: when each (actor, stance, issue, detail) was first reported. Seeded
    # with long-known positions; kept beside the entries so pruning old entries keeps history.
    db.execute(
        """
        CREATE TABLE ledger (
            actor TEXT NOT NULL,
            stance TEXT NOT NULL,
            issue TEXT NOT NULL,
            detail TEXT NOT NULL,
            first_reported TEXT NOT NULL,
            entry_id TEXT,
            seeded INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (actor, stance, issue, detail)
        )"""
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # The full-text index as sqlite-utils' `enable_fts` makes it (its search helper reads it);
    # written here so that creating a database does not import sqlite-utils. m6 adds the
    # triggers that keep it in step.
    db.execute(
        """CREATE VIRTUAL TABLE [entries_fts] USING FTS5 (
            [title], [summary], [content],
            content=[entries]
        )"""
    )


def _m2_tombstones(db: sqlite3.Connection) -> None:
    # What a feed carried before its entries were pruned: so an old item still in a feed is
    # recognised and not stored again as new.
    db.execute(
        """
        CREATE TABLE tombstones (
            feed_url TEXT NOT NULL,
            feed_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            pruned TEXT NOT NULL,
            PRIMARY KEY (feed_url, feed_key)
        )"""
    )


def _m3_pages(db: sqlite3.Connection) -> None:
    # Article pages fetched for feeds with `full_text: true`: never fetched twice.
    db.execute(
        """
        CREATE TABLE pages (
            url TEXT PRIMARY KEY,
            fetched TEXT NOT NULL,
            status TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 1
        )"""
    )


def _m4_relevant_index(db: sqlite3.Connection) -> None:
    # The digest's queries (a day's relevant entries, the latest positions) read by relevance
    # and time.
    db.execute("CREATE INDEX entries_relevant_first_seen ON entries(relevant, first_seen, id)")


def _m5_claims_first_seen(db: sqlite3.Connection) -> None:
    # Each claim carries its entry's first-seen time (which never changes), so the digest's
    # "latest position per actor and issue" is one index seek per pair instead of a sort of
    # every claim ever stored (seconds on a year of data).
    db.execute("ALTER TABLE claims ADD COLUMN first_seen TEXT")
    db.execute(
        "UPDATE claims SET first_seen = (SELECT first_seen FROM entries WHERE id = claims.entry_id)"
    )
    db.execute("CREATE INDEX claims_latest ON claims(actor, issue, first_seen, entry_id)")


# The full-text index is written in bulk, not row by row: an entry stored (or whose text
# changed) is queued in `fts_pending`, and `Store.index_pending` indexes the queue in one
# statement after each poll. Row by row, FTS5 wrote a segment per row (it flushes at every
# statement savepoint) and took 3 of the 5 s a first poll of 9,000 entries spent storing; in
# bulk it takes 0.2 s. A row still queued was never indexed, so its removal from the index is
# skipped. Only a change of the indexed columns re-queues a row (not a story or a relevance).
FTS_TRIGGERS = {
    "entries_ai": """CREATE TRIGGER entries_ai AFTER INSERT ON entries BEGIN
          INSERT OR IGNORE INTO fts_pending(id) VALUES (new.rowid);
        END""",
    "entries_ad": """CREATE TRIGGER entries_ad AFTER DELETE ON entries BEGIN
          INSERT INTO entries_fts(entries_fts, rowid, title, summary, content)
            SELECT 'delete', old.rowid, old.title, old.summary, old.content
            WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.rowid);
          DELETE FROM fts_pending WHERE id = old.rowid;
        END""",
    "entries_au": """CREATE TRIGGER entries_au AFTER UPDATE OF title, summary, content ON entries
        BEGIN
          INSERT INTO entries_fts(entries_fts, rowid, title, summary, content)
            SELECT 'delete', old.rowid, old.title, old.summary, old.content
            WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.rowid);
          INSERT OR IGNORE INTO fts_pending(id) VALUES (new.rowid);
        END""",
}


def _create_fts_triggers(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS fts_pending (id INTEGER PRIMARY KEY)")
    for name, sql in FTS_TRIGGERS.items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(sql)


def _m6_bulk_search_index(db: sqlite3.Connection) -> None:
    # Databases made before m6 have sqlite-utils' row-by-row triggers: replaced.
    _create_fts_triggers(db)


def _m7_story_features(db: sqlite3.Connection) -> None:
    # Story grouping compares each poll's new reports with every relevant report of the last
    # 72 hours; deriving their features again every poll took 0.2 s at 3,000. Stored here with
    # a digest of what they were derived from (stories.features_digest), so a changed entry,
    # a re-analysis or new grouping code is noticed without any hook.
    db.execute(
        """CREATE TABLE story_features (
            entry_id TEXT PRIMARY KEY REFERENCES entries(id),
            digest TEXT NOT NULL,
            data TEXT NOT NULL
        )"""
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _m1_initial,
    _m2_tombstones,
    _m3_pages,
    _m4_relevant_index,
    _m5_claims_first_seen,
    _m6_bulk_search_index,
    _m7_story_features,
)
SCHEMA_VERSION = len(MIGRATIONS)


# --- the poll lock -------------------------------------------------------------------------


@contextlib.contextmanager
def poll_lock(database: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock beside the database for one poll run.

    Two polls at once (cron firing while a slow run goes on, or `run` beside a manual `poll`)
    must never both ingest. The lock is an OS file lock, so a killed process releases it.
    Waits up to `wait` seconds, then raises LockHeld.
    """
    path = database.with_name(database.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = _time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if _time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise LockHeld(
                        f"another poll is running on {database} (pid {holder}); "
                        "this one did nothing"
                    ) from None
                _time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


# --- the store -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    """What one feed's entries did to the store."""

    new: tuple[str, ...]  # ids of entries stored for the first time
    updated: tuple[str, ...]  # ids of entries whose content changed in place
    sighted: int  # entries already stored from another feed, now also seen here


@dataclass(frozen=True)
class EntryRef:
    """A stored entry's identity and the fields story grouping needs."""

    id: str
    title: str
    summary: str
    lang: str | None
    first_seen: datetime
    story: str | None
    evidence: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()
    features: tuple[str, str] | None = None  # story features stored: (digest, data)


class Store:
    """One open database. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path, *, timezone: str = "UTC", create: bool = True) -> None:
        """Open (and, when `create`, create or migrate) the database at `path`.

        `timezone` is the digest's zone: a claim is *new* on an entry when no entry first seen
        before that entry's calendar day (in this zone) carried the same claim key.
        """
        self.path = path
        self.zone = ZoneInfo(timezone)
        if not create and not path.exists():
            raise StoreError(f"{path}: no database yet (run `monitor poll` first)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # As sqlite-utils sets it: an INSERT OR REPLACE fires the full-text delete trigger.
            self.conn.execute("PRAGMA recursive_triggers=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(
                f"{path}: database unusable ({e}); run `monitor doctor`, then restore a backup "
                "or move the file aside (the next poll starts a new one)"
            ) from e

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """The connection wrapped by sqlite-utils, for its table and full-text helpers."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- housekeeping ------------------------------------------------------------------

    def _migrate(self) -> None:
        version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: database schema {version} is from a newer monitor "
                f"(this one knows {SCHEMA_VERSION}); upgrade the monitor or use another database"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                MIGRATIONS[number](self.conn)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # --- feeds -------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[FeedConfig]) -> None:
        """Make the feeds table follow `feeds.yaml`: add new feeds, update names and languages,
        disable feeds that were removed (their entries stay)."""
        with self.transaction():
            self.conn.execute("UPDATE feeds SET enabled = 0")
            self.conn.executemany(
                "INSERT INTO feeds(url, name, lang, enabled) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET name = excluded.name, lang = excluded.lang, "
                "enabled = excluded.enabled",
                [(f.url, f.name, f.lang, int(f.enabled)) for f in feeds],
            )

    def feed_states(self, *, enabled_only: bool = False) -> list[FeedState]:
        """Every feed with its state and the number of entries it carried, by name."""
        where = "WHERE f.enabled = 1" if enabled_only else ""
        rows = self._rows(
            f"""SELECT f.*, (SELECT count(*) FROM sightings s WHERE s.feed_url = f.url) AS n
                FROM feeds f {where} ORDER BY f.name, f.url"""
        )
        return [_feed_state(r) for r in rows]

    def feeds_due(self, now: datetime) -> list[FeedState]:
        """Enabled feeds that are not gone and whose backoff (if any) has run out at `now`."""
        return [
            f
            for f in self.feed_states(enabled_only=True)
            if not f.gone and (f.next_attempt is None or f.next_attempt <= now)
        ]

    def record_success(
        self,
        url: str,
        *,
        now: datetime,
        next_attempt: datetime,
        validators: Validators,
        title: str | None,
        problem: str | None,
        redirected_to: str | None,
    ) -> None:
        """A fetch that reached the server and got a feed (or a 304)."""
        self.conn.execute(
            """UPDATE feeds SET last_attempt = ?, last_success = ?, last_error = NULL,
                 error_since = NULL, consecutive_failures = 0, next_attempt = ?, etag = ?,
                 last_modified = ?, title = coalesce(?, title), problem = ?,
                 redirected_to = coalesce(?, redirected_to)
               WHERE url = ?""",
            [
                to_text(now),
                to_text(now),
                to_text(next_attempt),
                validators.etag,
                validators.last_modified,
                title,
                problem,
                redirected_to,
                url,
            ],
        )

    def record_failure(
        self, url: str, *, now: datetime, error: str, next_attempt: datetime, gone: bool = False
    ) -> None:
        """A failed fetch: counts towards backoff, keeps `error_since` from the first failure."""
        self.conn.execute(
            """UPDATE feeds SET last_attempt = ?, last_error = ?,
                 error_since = coalesce(error_since, ?),
                 consecutive_failures = consecutive_failures + 1, next_attempt = ?, gone = ?
               WHERE url = ?""",
            [to_text(now), error, to_text(now), to_text(next_attempt), int(gone), url],
        )

    def feed_failures(self, url: str) -> int:
        row = self.conn.execute(
            "SELECT consecutive_failures FROM feeds WHERE url = ?", [url]
        ).fetchone()
        return int(row[0]) if row else 0

    # --- entries -----------------------------------------------------------------------

    def known_fingerprints(self, feed_url: str) -> dict[str, str]:
        """feed_key → fingerprint of every entry this feed carried (pruned ones included), to
        skip unchanged ones."""
        cursor = self.conn.execute(
            """SELECT feed_key, fingerprint FROM tombstones WHERE feed_url = ?
               UNION ALL SELECT feed_key, fingerprint FROM sightings WHERE feed_url = ?""",
            [feed_url, feed_url],
        )
        return {str(k): str(f) for k, f in cursor.fetchall()}

    def ingest(
        self,
        feed_url: str,
        items: Sequence[tuple[Entry, Analysis]],
        now: datetime,
    ) -> IngestResult:
        """Store one feed's new or changed entries with their analyses, in the caller's
        transaction. Exact deduplication:

        - the same feed key seen again updates the entry in place when its content changed;
        - an entry whose id or canonical URL is already stored from another feed becomes a
          second sighting of that entry;
        - anything else is a new entry, first seen `now`.

        A few set-wise lookups and one batched insert per table, whatever the number of items:
        statements row by row were the hot spot of a first poll.
        """
        stamp = to_text(now)
        keys = [e.feed_key for e, _ in items]
        known = {
            str(k): (str(i), str(f))
            for k, i, f in self._chunked(
                """SELECT feed_key, entry_id, fingerprint FROM sightings
                   WHERE feed_url = ? AND feed_key IN ({marks})""",
                keys,
                feed_url,
            )
        }
        pruned = {
            str(r[0])
            for r in self._chunked(
                "SELECT feed_key FROM tombstones WHERE feed_url = ? AND feed_key IN ({marks})",
                keys,
                feed_url,
            )
        }
        fresh = [e for e, _ in items if e.feed_key not in known and e.feed_key not in pruned]
        ids = {
            str(r[0])
            for r in self._chunked(
                "SELECT id FROM entries WHERE id IN ({marks})", [e.id for e in fresh]
            )
        }
        by_url = self._elsewhere(feed_url, [e.url for e in fresh if e.url])
        new: list[str] = []
        updated: list[str] = []
        sighted = 0
        inserts: list[tuple[Entry, Analysis]] = []
        sightings: list[tuple[str, str, str, str, str | None]] = []
        for entry, analysis in items:
            if entry.feed_key in known:
                entry_id, fingerprint = known[entry.feed_key]
                if fingerprint != entry.fingerprint:
                    self._update_entry(entry_id, entry, analysis, stamp)
                    self.conn.execute(
                        "UPDATE sightings SET fingerprint = ? WHERE feed_url = ? AND feed_key = ?",
                        [entry.fingerprint, feed_url, entry.feed_key],
                    )
                    updated.append(entry_id)
                continue
            if entry.feed_key in pruned:
                continue  # older than the retention period: gone on purpose
            # The same id (stored, or earlier in this batch), or the same canonical URL stored
            # from another feed: the same article. Within one feed, two distinct guids with one
            # link stay two entries.
            existing = entry.id if entry.id in ids else by_url.get(entry.url or "")
            if existing is None:
                inserts.append((entry, analysis))
                ids.add(entry.id)
                new.append(entry.id)
                existing = entry.id
            else:
                sighted += 1
            sightings.append((feed_url, entry.feed_key, existing, entry.fingerprint, stamp))
        self._insert_entries(inserts, stamp)
        self.conn.executemany(
            "INSERT OR IGNORE INTO sightings(feed_url, feed_key, entry_id, fingerprint, first_seen)"
            " VALUES (?, ?, ?, ?, ?)",
            sightings,
        )
        return IngestResult(tuple(new), tuple(updated), sighted)

    def _chunked(self, sql: str, values: Sequence[Any], *params: Any) -> list[Any]:
        """Rows of `sql`, whose `{marks}` is filled with `values` in chunks below SQLite's
        parameter limit; `params` come first."""
        rows: list[Any] = []
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            query = sql.format(marks=",".join("?" * len(chunk)))
            rows += self.conn.execute(query, [*params, *chunk]).fetchall()
        return rows

    def _elsewhere(self, feed_url: str, urls: Sequence[str]) -> dict[str, str]:
        """canonical URL → the earliest stored entry with it that `feed_url` has not carried."""
        first: dict[str, tuple[str, str]] = {}
        for url, entry_id, first_seen in self._chunked(
            """SELECT e.url, e.id, e.first_seen FROM entries e WHERE NOT EXISTS (
                 SELECT 1 FROM sightings s WHERE s.entry_id = e.id AND s.feed_url = ?)
               AND e.url IN ({marks})""",
            sorted(set(urls)),
            feed_url,
        ):
            key = (str(first_seen), str(entry_id))
            if url not in first or key < first[url]:
                first[url] = key
        return {url: entry_id for url, (_, entry_id) in first.items()}

    def prune(self, before: datetime, now: datetime, batch: int = 2000) -> int:
        """Delete entries first seen before `before`, in batches of short transactions.

        The novelty ledger keeps every claim's first report, and a tombstone per sighting keeps
        a feed that still carries an old item from storing it again as new. Returns the number
        of entries deleted.
        """
        deleted = 0
        cutoff, stamp = to_text(before), to_text(now)
        while True:
            with self.transaction():
                ids = [
                    r[0]
                    for r in self.conn.execute(
                        "SELECT id FROM entries WHERE first_seen < ? ORDER BY first_seen LIMIT ?",
                        [cutoff, batch],
                    ).fetchall()
                ]
                if not ids:
                    return deleted
                marks = ",".join("?" * len(ids))
                self.conn.execute(
                    f"""INSERT OR REPLACE INTO tombstones(feed_url, feed_key, fingerprint, pruned)
                        SELECT feed_url, feed_key, fingerprint, ? FROM sightings
                        WHERE entry_id IN ({marks})""",
                    [stamp, *ids],
                )
                for table in ("sightings", "claims", "story_features"):
                    self.conn.execute(f"DELETE FROM {table} WHERE entry_id IN ({marks})", ids)
                self.conn.execute(f"DELETE FROM entries WHERE id IN ({marks})", ids)
                # Article pages go with the last entry that linked to them.
                self.conn.execute(
                    """DELETE FROM pages
                       WHERE url NOT IN (SELECT url FROM entries WHERE url IS NOT NULL)"""
                )
            deleted += len(ids)

    def check(self, *, thorough: bool = True) -> list[str]:
        """Problems found in the database, one line each; empty when all is well.

        `thorough` runs SQLite's full integrity check, the full-text index check and the
        foreign-key check (seconds on a large database); otherwise only `quick_check`.
        """
        problems: list[str] = []
        try:
            pragma = "integrity_check" if thorough else "quick_check"
            rows = [str(r[0]) for r in self.conn.execute(f"PRAGMA {pragma}(20)").fetchall()]
            if rows != ["ok"]:
                problems += [f"integrity: {r}" for r in rows]
            if thorough:
                for row in self.conn.execute("PRAGMA foreign_key_check").fetchall()[:20]:
                    problems.append(f"foreign key: table {row[0]} row {row[1]} -> {row[2]}")
                try:
                    self.index_pending()  # else the queued entries would count as damage
                    self.conn.execute(
                        "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)"
                    )
                except sqlite3.DatabaseError as e:
                    problems.append(f"full-text index: {e} (rebuild with `monitor doctor --fix`)")
            triggers = {
                str(r[0])
                for r in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entries'"
                ).fetchall()
            }
            missing = {"entries_ai", "entries_ad", "entries_au"} - triggers
            if missing:
                problems.append(
                    f"full-text index: triggers missing ({', '.join(sorted(missing))}); "
                    "rebuild with `monitor doctor --fix`"
                )
            orphans = self.conn.execute(
                """SELECT count(*) FROM claims c LEFT JOIN ledger l ON l.actor = c.actor
                     AND l.stance = c.stance AND l.issue = c.issue AND l.detail = c.detail
                   WHERE l.actor IS NULL"""
            ).fetchone()[0]
            if orphans:
                problems.append(
                    f"ledger: {orphans} claims have no first report (fix with `monitor reclassify`)"
                )
        except sqlite3.DatabaseError as e:
            problems.append(f"database error: {e}")
        return problems

    def rebuild_search_index(self) -> None:
        """Recreate the full-text index and the triggers that keep it in step, from entries."""
        with self.transaction():
            if not self.db.table("entries_fts").exists():
                self.db.table("entries").enable_fts(["title", "summary", "content"])
            _create_fts_triggers(self.conn)
            self.conn.execute("DELETE FROM fts_pending")
            self.conn.execute("INSERT INTO entries_fts(entries_fts) VALUES ('rebuild')")

    def index_pending(self) -> int:
        """Add the entries stored or changed since the last call to the full-text index, in one
        statement; returns how many. A poll calls it when it has stored its entries."""
        if self.conn.execute("SELECT 1 FROM fts_pending LIMIT 1").fetchone() is None:
            return 0
        with self.transaction():
            added = self.conn.execute(
                """INSERT INTO entries_fts(rowid, title, summary, content)
                   SELECT e.rowid, e.title, e.summary, e.content
                   FROM fts_pending p JOIN entries e ON e.rowid = p.id ORDER BY p.id"""
            ).rowcount
            self.conn.execute("DELETE FROM fts_pending")
        return int(added)

    # --- article pages (full text) ------------------------------------------------------

    def pages(self, urls: Sequence[str]) -> dict[str, Page]:
        """The cached article page of each of `urls` that has one."""
        out: dict[str, Page] = {}
        for url, fetched, status, text, error, attempts in self._chunked(
            """SELECT url, fetched, status, text, error, attempts FROM pages
               WHERE url IN ({marks})""",
            urls,
        ):
            out[url] = Page(
                url=url,
                fetched=_required(fetched),
                status=status,
                text=text,
                error=error,
                attempts=int(attempts),
            )
        return out

    def has_pages(self) -> bool:
        """Whether any article page is cached (some feed has `full_text: true`)."""
        return self.conn.execute("SELECT 1 FROM pages LIMIT 1").fetchone() is not None

    def put_page(self, page: Page) -> None:
        """Insert or replace the cached page for `page.url`."""
        self.conn.execute(
            """INSERT INTO pages(url, fetched, status, text, error, attempts)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT(url) DO UPDATE SET fetched = excluded.fetched,
                 status = excluded.status, text = excluded.text, error = excluded.error,
                 attempts = excluded.attempts""",
            [page.url, to_text(page.fetched), page.status, page.text, page.error, page.attempts],
        )

    def _insert_entries(self, items: Sequence[tuple[Entry, Analysis]], stamp: str | None) -> None:
        self.conn.executemany(
            f"""INSERT INTO entries({_ENTRY_COLUMNS}, id, first_seen)
               VALUES ({", ".join("?" * (len(_ENTRY_COLUMNS.split(",")) + 2))})""",
            [(*_entry_values(e, a, stamp), e.id, stamp) for e, a in items],
        )
        for entry, analysis in items:
            if analysis.claims:
                self._write_claims(entry.id, analysis.claims, stamp)

    def _update_entry(
        self, entry_id: str, entry: Entry, analysis: Analysis, stamp: str | None
    ) -> None:
        self.conn.execute(
            """UPDATE entries SET url = coalesce(?, url), title = ?, summary = ?, content = ?,
                 author = ?, published = coalesce(?, published), updated = ?, lang = ?,
                 fingerprint = ?, changed = ?, relevant = ?, score = ?, evidence = ?
               WHERE id = ?""",
            [*_entry_values(entry, analysis, stamp), entry_id],
        )
        first_seen = self.conn.execute(
            "SELECT first_seen FROM entries WHERE id = ?", [entry_id]
        ).fetchone()[0]
        self._replace_claims(entry_id, analysis.claims, first_seen)

    def _write_claims(self, entry_id: str, claims: Sequence[Claim], first_seen: str | None) -> None:
        self._insert_claim_rows(entry_id, claims)
        # The ledger keeps the earliest sighting of each claim key.
        self.conn.executemany(
            """INSERT INTO ledger(actor, stance, issue, detail, first_reported, entry_id)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT(actor, stance, issue, detail) DO UPDATE SET
                 first_reported = excluded.first_reported, entry_id = excluded.entry_id,
                 seeded = 0
               WHERE excluded.first_reported < ledger.first_reported""",
            [(c.actor, c.stance, c.issue, c.detail, first_seen, entry_id) for c in claims],
        )

    def _replace_claims(self, entry_id: str, claims: Sequence[Claim], first_seen: str) -> None:
        self.conn.execute("DELETE FROM claims WHERE entry_id = ?", [entry_id])
        self._write_claims(entry_id, claims, first_seen)

    def seed_ledger(self, positions: Iterable[tuple[str, str, str, str, date]]) -> int:
        """Record long-known positions as first reported on their date, so a first run does not
        flag them as new. Never moves an existing key later. Returns rows inserted."""
        before = self.conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
        with self.transaction():
            self.conn.executemany(
                """INSERT INTO ledger(actor, stance, issue, detail, first_reported, seeded)
                   VALUES (?, ?, ?, ?, ?, 1)
                   ON CONFLICT(actor, stance, issue, detail) DO UPDATE SET
                     first_reported = excluded.first_reported, entry_id = NULL, seeded = 1
                   WHERE excluded.first_reported < ledger.first_reported""",
                [(a, s, i, d, f"{day.isoformat()}T00:00:00Z") for a, s, i, d, day in positions],
            )
        after = self.conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
        return int(after) - int(before)

    def rebuild_ledger(self, positions: Iterable[tuple[str, str, str, str, date]]) -> None:
        """Recompute the ledger from the seed and the claims now stored (after reclassify).
        Keys of entries already pruned are kept as they were."""
        with self.transaction():
            self.conn.execute(
                """DELETE FROM ledger WHERE seeded = 1 OR entry_id IN (SELECT id FROM entries)"""
            )
            self.conn.execute(
                """INSERT INTO ledger(actor, stance, issue, detail, first_reported, entry_id)
                   SELECT c.actor, c.stance, c.issue, c.detail, min(e.first_seen), NULL
                   FROM claims c JOIN entries e ON e.id = c.entry_id
                   GROUP BY c.actor, c.stance, c.issue, c.detail
                   ON CONFLICT(actor, stance, issue, detail) DO UPDATE SET
                     first_reported = min(ledger.first_reported, excluded.first_reported)"""
            )
            self.conn.execute(
                """UPDATE ledger SET entry_id = (
                     SELECT c.entry_id FROM claims c JOIN entries e ON e.id = c.entry_id
                     WHERE c.actor = ledger.actor AND c.stance = ledger.stance
                       AND c.issue = ledger.issue AND c.detail = ledger.detail
                     ORDER BY e.first_seen, e.id LIMIT 1)
                   WHERE entry_id IS NULL"""
            )
        self.seed_ledger(positions)

    def replace_analysis(self, entry_id: str, analysis: Analysis) -> None:
        """Store a fresh analysis of an entry (reclassify); the ledger is rebuilt afterwards."""
        self.conn.execute(
            "UPDATE entries SET relevant = ?, score = ?, evidence = ? WHERE id = ?",
            [
                int(analysis.relevant),
                analysis.score,
                json.dumps(list(analysis.evidence), ensure_ascii=False),
                entry_id,
            ],
        )
        self.conn.execute("DELETE FROM claims WHERE entry_id = ?", [entry_id])
        self._insert_claim_rows(entry_id, analysis.claims)

    def _insert_claim_rows(self, entry_id: str, claims: Sequence[Claim]) -> None:
        self.conn.executemany(
            """INSERT INTO claims(entry_id, seq, actor, stance, issue, target, detail, evidence,
                 reasons, first_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                 (SELECT first_seen FROM entries WHERE id = ?1))""",
            [
                (
                    entry_id,
                    seq,
                    c.actor,
                    c.stance,
                    c.issue,
                    c.target,
                    c.detail,
                    c.evidence,
                    json.dumps(list(c.reasons), ensure_ascii=False),
                )
                for seq, c in enumerate(claims)
            ],
        )

    def save_story_features(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Store (entry id, digest, data) story features, replacing older ones."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO story_features(entry_id, digest, data) VALUES (?, ?, ?)",
            rows,
        )

    def set_stories(self, stories: dict[str, str]) -> None:
        self.conn.executemany(
            "UPDATE entries SET story = ? WHERE id = ?", [(s, i) for i, s in stories.items()]
        )

    def relevant_since(self, since: datetime) -> list[EntryRef]:
        """Relevant entries first seen at or after `since`, oldest first, with their evidence,
        claims and stored story features (story grouping)."""
        rows = self._rows(
            """SELECT e.id, e.title, e.summary, e.lang, e.first_seen, e.story, e.evidence,
                      f.digest, f.data
               FROM entries e LEFT JOIN story_features f ON f.entry_id = e.id
               WHERE e.relevant = 1 AND e.first_seen >= ? ORDER BY e.first_seen, e.id""",
            [to_text(since)],
        )
        claims: dict[str, list[Claim]] = {}
        for r in self._rows(
            """SELECT c.entry_id, c.actor, c.stance, c.issue, c.target, c.detail, c.evidence
               FROM claims c WHERE c.entry_id IN (
                 SELECT id FROM entries WHERE relevant = 1 AND first_seen >= ?)
               ORDER BY c.entry_id, c.seq""",
            [to_text(since)],
        ):
            claims.setdefault(r["entry_id"], []).append(
                Claim(r["actor"], r["stance"], r["issue"], r["target"], r["detail"], r["evidence"])
            )
        return [
            EntryRef(
                id=r["id"],
                title=r["title"],
                summary=r["summary"],
                lang=r["lang"],
                first_seen=_required(r["first_seen"]),
                story=r["story"],
                evidence=tuple(json.loads(r["evidence"])),
                claims=tuple(claims.get(r["id"], ())),
                features=(r["digest"], r["data"]) if r["digest"] is not None else None,
            )
            for r in rows
        ]

    # --- reading -----------------------------------------------------------------------

    def entries_first_seen_between(
        self, start: datetime, end: datetime, *, relevant_only: bool = False
    ) -> list[StoredEntry]:
        """Entries with start <= first_seen < end, in first-seen order, with claims."""
        where = "AND relevant = 1" if relevant_only else ""
        rows = self._rows(
            f"""SELECT * FROM entries WHERE first_seen >= ? AND first_seen < ? {where}
                ORDER BY first_seen, id""",
            [to_text(start), to_text(end)],
        )
        return self._stored(rows)

    def count_first_seen_between(self, start: datetime, end: datetime) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM entries WHERE first_seen >= ? AND first_seen < ?",
            [to_text(start), to_text(end)],
        ).fetchone()
        return int(row[0])

    def export_entries(
        self, since: datetime | None = None, batch: int = 500
    ) -> Iterator[StoredEntry]:
        """Every stored entry (first seen at or after `since`), oldest first, in batches."""
        last = (to_text(since) or "", "")
        first = True
        while True:
            op = ">=" if first and since is not None else ">"
            rows = self._rows(
                f"""SELECT * FROM entries WHERE (first_seen, id) {op} (?, ?)
                    ORDER BY first_seen, id LIMIT ?""",
                [last[0], last[1], batch],
            )
            first = False
            if not rows:
                return
            yield from self._stored(rows)
            last = (rows[-1]["first_seen"], rows[-1]["id"])

    def get_entry(self, entry_id: str) -> StoredEntry | None:
        rows = self._rows("SELECT * FROM entries WHERE id = ?", [entry_id])
        if not rows:
            rows = self._rows("SELECT * FROM entries WHERE id LIKE ? LIMIT 2", [entry_id + "%"])
            if len(rows) != 1:
                return None
        return self._stored(rows)[0]

    def search(self, query: str, limit: int = 20) -> list[StoredEntry]:
        """Full-text search over title, summary and content, best match first. Entries a
        killed poll left unindexed are indexed first."""
        try:
            self.index_pending()
            rows = list(
                self.db.table("entries").search(query, limit=limit, quote=True, order_by="rank")
            )
        except sqlite3.OperationalError as e:
            raise StoreError(f"search failed: {e}") from e
        return self._stored(rows)

    def _stored(self, rows: list[dict[str, Any]]) -> list[StoredEntry]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        feeds: dict[str, list[str]] = {i: [] for i in ids}
        for entry_id, name in self._chunked(
            """SELECT s.entry_id, f.name FROM sightings s JOIN feeds f ON f.url = s.feed_url
               WHERE s.entry_id IN ({marks}) ORDER BY s.first_seen, f.name""",
            ids,
        ):
            feeds[entry_id].append(name)
        claims: dict[str, list[tuple[Claim, str]]] = {i: [] for i in ids}
        for row in self._chunked(
            """SELECT c.entry_id, c.actor, c.stance, c.issue, c.target, c.detail,
                     c.evidence, c.reasons, l.first_reported
                   FROM claims c LEFT JOIN ledger l
                     ON l.actor = c.actor AND l.stance = c.stance AND l.issue = c.issue
                     AND l.detail = c.detail
                   WHERE c.entry_id IN ({marks}) ORDER BY c.entry_id, c.seq""",
            ids,
        ):
            entry_id, actor, stance, issue, target, detail, evidence, reasons, first = row
            why = tuple(json.loads(reasons))
            claim = Claim(actor, stance, issue, target, detail, evidence, why)
            claims[entry_id].append((claim, first))
        out = []
        for r in rows:
            first_seen = _required(r["first_seen"])
            day_start = _day_start(first_seen, self.zone)
            out.append(
                StoredEntry(
                    entry=_entry(r, feed_key=""),
                    feeds=tuple(feeds[r["id"]]),
                    first_seen=first_seen,
                    relevant=bool(r["relevant"]),
                    score=float(r["score"]),
                    story=r["story"],
                    evidence=tuple(json.loads(r["evidence"])),
                    claims=tuple(
                        StoredClaim(
                            claim=c,
                            first_reported=from_text(fr) or first_seen,
                            new=(from_text(fr) or first_seen) >= day_start,
                        )
                        for c, fr in claims[r["id"]]
                    ),
                )
            )
        return out

    def sources_of(self, entry_ids: Sequence[str]) -> dict[str, list[tuple[str, str | None]]]:
        """entry id → (feed name, link) of every feed that carried it."""
        out: dict[str, list[tuple[str, str | None]]] = {i: [] for i in entry_ids}
        for entry_id, name, url in self._chunked(
            """SELECT s.entry_id, f.name, e.url FROM sightings s
               JOIN feeds f ON f.url = s.feed_url JOIN entries e ON e.id = s.entry_id
               WHERE s.entry_id IN ({marks}) ORDER BY s.first_seen, f.name""",
            entry_ids,
        ):
            out[entry_id].append((name, url))
        return out

    def latest_positions(self, until: datetime) -> list[dict[str, Any]]:
        """For each (actor, issue), the latest claim from a relevant entry first seen before
        `until`: one seek on `claims_latest` per pair."""
        pairs = self.conn.execute("SELECT DISTINCT actor, issue FROM claims").fetchall()
        out: list[dict[str, Any]] = []
        for actor, issue in sorted(pairs):
            out += self._rows(
                """SELECT c.actor, c.issue, c.stance, c.detail, c.evidence, e.url, e.first_seen
                   FROM claims c JOIN entries e ON e.id = c.entry_id
                   WHERE c.actor = ? AND c.issue = ? AND c.first_seen < ? AND e.relevant = 1
                   ORDER BY c.first_seen DESC, c.entry_id DESC, c.seq LIMIT 1""",
                [actor, issue, to_text(until)],
            )
        return out

    def counts(self) -> dict[str, int]:
        """Totals for status: entries, relevant entries, claims, feeds."""
        row = self.conn.execute(
            """SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM entries
                 WHERE relevant = 1), (SELECT count(*) FROM claims), (SELECT count(*) FROM feeds
                 WHERE enabled = 1)"""
        ).fetchone()
        return {"entries": row[0], "relevant": row[1], "claims": row[2], "feeds": row[3]}


_ENTRY_COLUMNS = (
    "url, title, summary, content, author, published, updated, lang, fingerprint, changed, "
    "relevant, score, evidence"
)


def _entry_values(entry: Entry, analysis: Analysis, stamp: str | None) -> tuple[Any, ...]:
    """An entry's stored fields with its analysis, in the order of _ENTRY_COLUMNS."""
    return (
        entry.url,
        entry.title,
        entry.summary,
        entry.content,
        entry.author,
        to_text(entry.published),
        to_text(entry.updated),
        entry.lang,
        entry.fingerprint,
        stamp,
        int(analysis.relevant),
        analysis.score,
        json.dumps(list(analysis.evidence), ensure_ascii=False),
    )


def _day_start(moment: datetime, zone: ZoneInfo) -> datetime:
    """Midnight (in `zone`) of the local day holding `moment`, as UTC."""
    local = moment.astimezone(zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)


def _feed_state(r: dict[str, Any]) -> FeedState:
    return FeedState(
        url=r["url"],
        name=r["name"],
        lang=r["lang"],
        title=r["title"],
        validators=Validators(etag=r["etag"], last_modified=r["last_modified"]),
        last_attempt=from_text(r["last_attempt"]),
        last_success=from_text(r["last_success"]),
        last_error=r["last_error"],
        error_since=from_text(r["error_since"]),
        consecutive_failures=int(r["consecutive_failures"]),
        next_attempt=from_text(r["next_attempt"]),
        gone=bool(r["gone"]),
        redirected_to=r["redirected_to"],
        problem=r["problem"],
        entries=int(r.get("n") or 0),
    )


def _entry(r: dict[str, Any], *, feed_key: str) -> Entry:
    return Entry(
        id=r["id"],
        feed_key=feed_key,
        url=r["url"],
        title=r["title"],
        summary=r["summary"],
        content=r["content"],
        published=from_text(r["published"]),
        updated=from_text(r["updated"]),
        lang=r["lang"],
        author=r["author"],
    )
