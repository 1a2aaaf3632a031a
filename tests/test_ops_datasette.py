"""deploy/datasette-metadata.yml: its canned queries run on a database the store built."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.models import Analysis, Claim, Entry, FeedConfig
from monitor.store import Store
from tests.ops_helpers import DEPLOY

NOW = datetime.now(UTC).replace(microsecond=0)
A = FeedConfig("https://a.example/rss", "Agency A")
B = FeedConfig("https://b.example/rss", "Broadcaster B")


def metadata() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "datasette-metadata.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def queries() -> dict[str, dict[str, str]]:
    return metadata()["databases"]["monitor"]["queries"]  # type: ignore[no-any-return]


def entry(n: int, title: str, summary: str) -> Entry:
    return Entry(
        id=f"id-{n}",
        feed_key=f"k{n}",
        url=f"https://a.example/{n}",
        title=title,
        summary=summary,
        content="",
        published=NOW,
        updated=None,
        lang="en",
    )


def claim(actor: str, stance: str, issue: str, detail: str, evidence: str) -> Claim:
    return Claim(
        actor, stance, issue, "ukraine" if actor == "russia" else "russia", detail, evidence
    )


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "monitor.db"
    with Store(path, timezone="UTC") as store:
        store.sync_feeds([A, B])
        store.seed_ledger([("russia", "demand", "nato", "", date(2022, 3, 1))])
        old = NOW - timedelta(days=3)
        with store.transaction():
            store.ingest(
                A.url,
                [
                    (
                        entry(1, "Moscow repeats ceasefire terms", "Old news on a ceasefire"),
                        Analysis(
                            True,
                            0.8,
                            claims=(
                                claim("russia", "demand", "ceasefire", "", "Russia demanded ..."),
                            ),
                        ),
                    )
                ],
                old,
            )
        today = [
            (
                entry(2, "Kyiv offers demilitarised zone in Donbas", "Ukraine offered a zone"),
                Analysis(
                    True,
                    0.95,
                    claims=(
                        claim(
                            "ukraine", "concession", "territory", "dmz:donbas", "Ukraine offered"
                        ),
                        claim("russia", "demand", "nato", "", "Russia demanded no NATO"),
                        claim("russia", "demand", "ceasefire", "", "Russia again demanded"),
                    ),
                ),
            ),
            (entry(3, "Football results", "Nothing to see"), Analysis(False, 0.1)),
        ]
        with store.transaction():
            store.ingest(A.url, today, NOW)
            store.ingest(B.url, today[:1], NOW)
        store.index_pending()  # as every poll does once its feeds are stored
        store.record_failure(B.url, now=NOW, error="HTTP 503 Service Unavailable", next_attempt=NOW)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def run(conn: sqlite3.Connection, name: str, **params: str) -> list[dict[str, Any]]:
    sql = queries()[name]["sql"]
    assert set(re.findall(r"(?<!:):(\w+)", sql)) == set(params)  # Datasette's form fields
    return [dict(r) for r in conn.execute(sql, params).fetchall()]


def test_metadata_is_valid_yaml_for_the_monitor_database() -> None:
    data = metadata()
    assert data["title"] == "Talks monitor"
    assert set(queries()) == {"new_positions", "feed_failures", "search"}
    for query in queries().values():
        assert (
            query["title"] and query["description"] and query["sql"].lstrip().startswith("select")
        )
    assert set(data["databases"]["monitor"]["tables"]) <= {"entries", "claims", "ledger", "feeds"}


def test_new_positions_today(database: sqlite3.Connection) -> None:
    rows = run(database, "new_positions", day="")
    # Seeded (nato) and earlier (ceasefire) positions are not new; the DMZ offer is.
    assert [(r["actor"], r["stance"], r["issue"], r["detail"]) for r in rows] == [
        ("ukraine", "concession", "territory", "dmz:donbas")
    ]
    (row,) = rows
    assert row["evidence"] == "Ukraine offered"
    assert row["url"] == "https://a.example/2"
    assert row["sources"] == "Agency A, Broadcaster B"
    assert run(database, "new_positions", day=NOW.date().isoformat()) == rows
    earlier = (NOW - timedelta(days=3)).date().isoformat()
    assert [r["issue"] for r in run(database, "new_positions", day=earlier)] == ["ceasefire"]


def test_feed_failures(database: sqlite3.Connection) -> None:
    failing = run(database, "feed_failures", feed="")
    assert [(r["name"], r["consecutive_failures"], r["last_error"]) for r in failing] == [
        ("Broadcaster B", 1, "HTTP 503 Service Unavailable")
    ]
    assert failing[0]["entries"] == 1
    (agency,) = run(database, "feed_failures", feed="Agency")
    assert (agency["name"], agency["consecutive_failures"], agency["entries"]) == ("Agency A", 0, 3)
    assert (
        run(database, "feed_failures", feed="https://b.example/rss")[0]["name"] == "Broadcaster B"
    )


def test_search(database: sqlite3.Connection) -> None:
    rows = run(database, "search", q="demilitarised")
    assert [(r["id"], r["relevant"]) for r in rows] == [("id-2", 1)]
    assert "«demilitarised»" in rows[0]["excerpt"]
    assert {r["id"] for r in run(database, "search", q="ceasefire OR football")} == {"id-1", "id-3"}
    assert run(database, "search", q="istanbul") == []
