"""The store, on real SQLite files in a temp dir, reopened to prove persistence."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import LockHeld, StoreError
from monitor.models import Analysis, Claim, Entry, FeedConfig, Validators
from monitor.store import SCHEMA_VERSION, Store, poll_lock

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
A = FeedConfig(url="https://a.example/feed", name="A")
B = FeedConfig(url="https://b.example/feed", name="B")


def entry(
    key: str, *, url: str | None = None, title: str = "Title", id_: str | None = None
) -> Entry:
    return Entry(
        id=id_ or f"id-{key}",
        feed_key=key,
        url=url,
        title=title,
        summary="Summary of " + title,
        content="",
        published=T0,
        updated=None,
        lang="en",
    )


IRRELEVANT = Analysis(relevant=False, score=0.1)


def claim(detail: str = "withdraw:donetsk") -> Claim:
    return Claim(
        "russia", "demand", "territory", "ukraine", detail, "Russia demanded ...", ("cue",)
    )


def relevant(*claims: Claim) -> Analysis:
    return Analysis(relevant=True, score=0.9, evidence=("talks",), claims=claims)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "m.db"


@pytest.fixture
def store(db_path: Path) -> Store:
    s = Store(db_path, timezone="Europe/Kyiv")
    s.sync_feeds([A, B])
    yield s
    s.close()


def ingest(store: Store, feed: FeedConfig, items: list[tuple[Entry, Analysis]], now: datetime = T0):
    with store.transaction():
        return store.ingest(feed.url, items, now)


def test_persists_across_reopen(store: Store, db_path: Path) -> None:
    ingest(store, A, [(entry("1", url="https://a.example/1"), relevant(claim()))])
    store.close()
    with Store(db_path, timezone="Europe/Kyiv") as again:
        (stored,) = again.entries_first_seen_between(T0, T0 + timedelta(seconds=1))
        assert stored.entry.url == "https://a.example/1"
        assert stored.feeds == ("A",)
        assert stored.relevant and stored.score == 0.9
        assert stored.claims[0].claim.detail == "withdraw:donetsk"
        assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_seen_again_is_not_stored_twice(store: Store) -> None:
    first = ingest(store, A, [(entry("1"), IRRELEVANT)])
    again = ingest(store, A, [(entry("1"), IRRELEVANT)], T0 + timedelta(hours=1))
    assert first.new == ("id-1",) and again.new == () and again.updated == ()
    assert store.counts()["entries"] == 1


def test_changed_content_updates_in_place_keeping_first_seen(store: Store) -> None:
    ingest(store, A, [(entry("1", title="Old"), IRRELEVANT)])
    later = T0 + timedelta(hours=2)
    result = ingest(store, A, [(entry("1", title="New headline"), relevant(claim()))], later)
    assert result.updated == ("id-1",) and result.new == ()
    (stored,) = store.entries_first_seen_between(T0, later)
    assert stored.entry.title == "New headline"
    assert stored.first_seen == T0
    assert stored.relevant and len(stored.claims) == 1
    assert store.known_fingerprints(A.url)["1"] == entry("1", title="New headline").fingerprint


def test_same_url_from_two_feeds_is_one_entry_with_two_sightings(store: Store) -> None:
    ingest(store, A, [(entry("guid-a", url="https://news.example/x", id_="ida"), IRRELEVANT)])
    result = ingest(
        store, B, [(entry("guid-b", url="https://news.example/x", id_="idb"), IRRELEVANT)]
    )
    assert result.new == () and result.sighted == 1
    assert store.counts()["entries"] == 1
    (stored,) = store.entries_first_seen_between(T0, T0 + timedelta(days=1))
    assert stored.feeds == ("A", "B")
    assert store.sources_of([stored.entry.id]) == {
        "ida": [("A", "https://news.example/x"), ("B", "https://news.example/x")]
    }


def test_distinct_guids_sharing_a_link_in_one_feed_stay_distinct(store: Store) -> None:
    result = ingest(
        store,
        A,
        [
            (entry("g1", url="https://a.example/live", id_="x1"), IRRELEVANT),
            (entry("g2", url="https://a.example/live", id_="x2"), IRRELEVANT),
        ],
    )
    assert result.new == ("x1", "x2")


def test_ledger_marks_new_by_calendar_day_in_the_zone(store: Store) -> None:
    # 2025-06-02 08:00 UTC is 11:00 in Kyiv; 22:30 UTC is already 2025-06-03 in Kyiv.
    ingest(store, A, [(entry("1", id_="e1"), relevant(claim()))], T0)
    ingest(store, A, [(entry("2", id_="e2"), relevant(claim()))], T0 + timedelta(hours=3))
    ingest(
        store, A, [(entry("3", id_="e3"), relevant(claim()))], T0 + timedelta(hours=14, minutes=30)
    )
    got = {s.entry.id: s.claims[0] for s in store.export_entries()}
    assert got["e1"].new and got["e2"].new  # same Kyiv day as the first report
    assert not got["e3"].new  # next Kyiv day: reported before
    assert {c.first_reported for c in got.values()} == {T0}


def test_seeded_positions_are_not_new(store: Store) -> None:
    store.seed_ledger([("russia", "demand", "territory", "withdraw:donetsk", date(2024, 6, 14))])
    ingest(store, A, [(entry("1"), relevant(claim(), claim("withdraw:kharkiv")))])
    (stored,) = store.export_entries()
    old, fresh = stored.claims
    assert not old.new and old.first_reported == datetime(2024, 6, 14, tzinfo=UTC)
    assert fresh.new


def test_rebuild_ledger_follows_reclassified_claims(store: Store) -> None:
    ingest(store, A, [(entry("1", id_="e1"), relevant(claim("cap:600000")))], T0)
    later = T0 + timedelta(days=3)
    ingest(store, A, [(entry("2", id_="e2"), relevant(claim("cap:800000")))], later)
    # New rules decide that e1 carried cap:800000 too: e2's claim is then no longer new.
    with store.transaction():
        store.replace_analysis("e1", relevant(claim("cap:800000")))
    store.rebuild_ledger([])
    claims = {s.entry.id: s.claims[0] for s in store.export_entries()}
    assert claims["e1"].new and claims["e1"].first_reported == T0
    assert not claims["e2"].new
    keys = store.db.execute("SELECT detail FROM ledger ORDER BY detail").fetchall()
    assert keys == [("cap:800000",)]


def test_failed_fetch_records_state_and_keeps_entries(store: Store) -> None:
    ingest(store, A, [(entry("1"), IRRELEVANT)])
    later = T0 + timedelta(minutes=30)
    store.record_failure(
        A.url, now=later, error="HTTP 500", next_attempt=later + timedelta(hours=1)
    )
    store.record_failure(
        A.url, now=later, error="HTTP 502", next_attempt=later + timedelta(hours=2)
    )
    state = next(f for f in store.feed_states() if f.url == A.url)
    assert state.consecutive_failures == 2 and state.last_error == "HTTP 502"
    assert state.error_since == later and state.entries == 1
    assert [f.url for f in store.feeds_due(later)] == [B.url]
    store.record_success(
        A.url,
        now=later,
        next_attempt=later,
        validators=Validators('"e1"', None),
        title="A feed",
        problem=None,
        redirected_to="https://a.example/new",
    )
    state = next(f for f in store.feed_states() if f.url == A.url)
    assert state.consecutive_failures == 0 and state.error_since is None
    assert state.validators.etag == '"e1"' and state.redirected_to == "https://a.example/new"


def test_removed_feeds_are_disabled_not_deleted(store: Store) -> None:
    ingest(store, B, [(entry("1"), IRRELEVANT)])
    store.sync_feeds([A])
    assert [f.url for f in store.feed_states(enabled_only=True)] == [A.url]
    assert store.counts()["entries"] == 1


def test_full_text_search(store: Store) -> None:
    ingest(
        store,
        A,
        [
            (
                dataclasses.replace(entry("1", title="Medinsky arrives in Istanbul"), id="s1"),
                IRRELEVANT,
            ),
            (dataclasses.replace(entry("2", title="Переговоры в Стамбуле"), id="s2"), IRRELEVANT),
            (dataclasses.replace(entry("3", title="Football results"), id="s3"), IRRELEVANT),
        ],
    )
    assert [s.entry.id for s in store.search("Istanbul")] == ["s1"]
    assert [s.entry.id for s in store.search("Стамбуле")] == ["s2"]
    assert store.search('"unbalanced') == []  # user input is quoted, never an FTS syntax error


def test_newer_schema_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer monitor"):
        Store(db_path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="unusable"):
        Store(path)


def test_missing_database_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database yet"):
        Store(tmp_path / "none.db", create=False)


def test_poll_lock_excludes_a_second_process(db_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from monitor.store import poll_lock\n"
        "from monitor.errors import LockHeld\n"
        "try:\n    with poll_lock(Path(sys.argv[1])): pass\nexcept LockHeld as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    with poll_lock(db_path):
        done = subprocess.run(
            [sys.executable, "-c", code, str(db_path)], capture_output=True, text=True
        )
        assert done.returncode == 3, done.stderr
        assert "another poll is running" in done.stdout
    done = subprocess.run(
        [sys.executable, "-c", code, str(db_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_poll_lock_in_process(db_path: Path) -> None:
    with poll_lock(db_path), pytest.raises(LockHeld), poll_lock(db_path, wait=0.3):
        pass


def test_prune_keeps_history_and_does_not_store_old_items_again(store: Store) -> None:
    old, fresh = entry("1", id_="old"), entry("2", id_="fresh")
    ingest(store, A, [(old, relevant(claim("cap:600000")))], T0)
    later = T0 + timedelta(days=400)
    ingest(store, A, [(fresh, IRRELEVANT)], later)
    assert store.prune(later - timedelta(days=365), later) == 1
    assert [s.entry.id for s in store.export_entries()] == ["fresh"]
    assert store.search("Title") and all(s.entry.id == "fresh" for s in store.search("Title"))
    # The claim's first report survives: reported again, it is not new.
    (row,) = store.db.execute("SELECT first_reported FROM ledger").fetchall()
    assert row[0] == "2025-06-02T08:00:00Z"
    # The feed still carries the old item: it is known, and not stored again as new.
    assert "1" in store.known_fingerprints(A.url)
    result = ingest(store, A, [(old, relevant(claim("cap:600000")))], later)
    assert result.new == () and store.counts()["entries"] == 1
    assert store.prune(later - timedelta(days=365), later) == 0
    assert store.check() == []


def test_check_finds_a_damaged_search_index(store: Store) -> None:
    ingest(store, A, [(entry("1", title="Medinsky in Istanbul"), IRRELEVANT)])
    assert store.check() == []
    # Change a row behind the index's back (as a crash or a foreign tool could).
    store.db.execute("DROP TRIGGER entries_au")
    store.db.execute("UPDATE entries SET title = 'Something else entirely'")
    problems = store.check()
    assert len(problems) == 2 and all(p.startswith("full-text index:") for p in problems)
    store.rebuild_search_index()
    assert store.check() == []
    store.db.execute("UPDATE entries SET title = 'Kept in step again'")
    assert [s.entry.title for s in store.search("step")] == ["Kept in step again"]


def test_damaged_file_gets_a_message_saying_what_to_do(db_path: Path) -> None:
    Store(db_path).close()
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page, keep the header
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="monitor doctor"):
        Store(db_path)


def test_search_index_is_written_in_bulk_and_caught_up(store: Store) -> None:
    # A poll stores entries, then indexes them in one statement; a poll killed in between
    # leaves them queued, and the next search (or poll, or check) indexes them.
    ingest(store, A, [(entry("1", title="Medinsky in Istanbul"), IRRELEVANT)])
    fts = "SELECT rowid FROM entries_fts WHERE entries_fts MATCH 'medinsky'"
    assert store.conn.execute(fts).fetchall() == []
    assert [s.entry.title for s in store.search("Medinsky")] == ["Medinsky in Istanbul"]
    assert store.index_pending() == 0
    # A changed title is queued again; a story or a relevance change is not.
    store.conn.execute("UPDATE entries SET story = 's-1', relevant = 1")
    assert store.conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0] == 0
    store.conn.execute("UPDATE entries SET title = 'Umerov in Geneva'")
    assert store.index_pending() == 1
    assert [s.entry.title for s in store.search("Geneva")] == ["Umerov in Geneva"]
    assert store.check() == []  # the old text left the index with the update
    # Deleting a queued entry never touches the index; deleting an indexed one removes it.
    ingest(store, A, [(entry("2", title="Witkoff in Moscow"), IRRELEVANT)], T0)
    store.conn.execute("DELETE FROM sightings")
    store.conn.execute("DELETE FROM entries")
    assert store.check() == []
    assert store.search("Geneva") == [] and store.search("Witkoff") == []


def test_a_database_from_before_the_bulk_index_is_upgraded(db_path: Path) -> None:
    # Schema 5 kept the index in step with sqlite-utils' row-by-row triggers and had no
    # first_seen on claims before m5; m6 swaps the triggers, and what was indexed stays found.
    with Store(db_path, timezone="UTC") as old:
        old.sync_feeds([A])
        ingest(old, A, [(entry("1", title="Medinsky in Istanbul"), relevant(claim()))])
        old.index_pending()
        old.conn.execute("DROP TABLE fts_pending")
        for name in ("entries_ai", "entries_ad", "entries_au"):
            old.conn.execute(f"DROP TRIGGER {name}")
        old.db.table("entries").enable_fts(
            ["title", "summary", "content"], create_triggers=True, replace=True
        )
        old.conn.execute("DROP TABLE story_features")
        old.conn.execute("PRAGMA user_version = 5")
    with Store(db_path, timezone="UTC") as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [s.entry.title for s in store.search("Medinsky")] == ["Medinsky in Istanbul"]
        ingest(store, A, [(entry("2", title="Umerov in Geneva"), IRRELEVANT)])
        assert [s.entry.title for s in store.search("Geneva")] == ["Umerov in Geneva"]
        assert store.check() == []


def test_story_features_are_stored_read_back_and_pruned_with_their_entry(db_path: Path) -> None:
    with Store(db_path, timezone="UTC") as old:
        old.sync_feeds([A])
        ingest(old, A, [(entry("1"), relevant(claim()))])
        old.conn.execute("DROP TABLE story_features")
        old.conn.execute("PRAGMA user_version = 6")  # before m7
    with Store(db_path, timezone="UTC") as store:
        assert [r.features for r in store.relevant_since(T0 - timedelta(days=1))] == [None]
        (ref,) = store.relevant_since(T0 - timedelta(days=1))
        with store.transaction():
            store.save_story_features(
                [
                    (ref.id, "d1", "[]"),
                ]
            )
            store.save_story_features([(ref.id, "d2", "a\x1e\x1e")])
        assert [r.features for r in store.relevant_since(T0 - timedelta(days=1))] == [
            ("d2", "a\x1e\x1e")
        ]
        assert store.prune(T0 + timedelta(days=1), T0 + timedelta(days=1)) == 1
        assert store.conn.execute("SELECT count(*) FROM story_features").fetchone()[0] == 0
        assert store.check() == []
