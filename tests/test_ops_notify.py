"""Notifications: the message (pure), and sending through apprise to real local receivers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from monitor.digest import DigestDay
from monitor.models import (
    Analysis,
    Claim,
    Entry,
    FeedConfig,
    FeedState,
    Settings,
    StoredClaim,
    StoredEntry,
)
from monitor.notify import MAX_POSITIONS, check_notify_urls, digest_message, notify_digest
from monitor.store import Store
from tests.ops_helpers import monitor
from tests.receivers import HttpReceiver, SmtpReceiver

DAY = date(2025, 6, 2)
T = datetime(2025, 6, 2, 7, 30, tzinfo=UTC)


def stored(n: int, *claims: StoredClaim, feeds: tuple[str, ...] = ("TASS",)) -> StoredEntry:
    e = Entry(f"id-{n}", f"k{n}", f"https://n.example/{n}", f"Title {n}", "", "", T, None, "en")
    return StoredEntry(e, feeds, T, True, 0.9, f"s-{n % 2}", claims)


def new_claim(
    detail: str, evidence: str = "Russia demanded it.", *, new: bool = True
) -> StoredClaim:
    return StoredClaim(Claim("russia", "demand", "territory", "ukraine", detail, evidence), T, new)


def day(*entries: StoredEntry, feeds: tuple[FeedState, ...] = ()) -> DigestDay:
    return DigestDay(DAY, "Europe/Kyiv", entries, total_seen=40, feeds=feeds)


FAILING = FeedState("https://x.example/rss", "Broken feed", consecutive_failures=3)


def test_message_has_the_summary_and_the_new_positions() -> None:
    title, body = digest_message(
        day(
            stored(1, new_claim("withdraw:donetsk"), new_claim("", new=False)),
            stored(2, new_claim("withdraw:donetsk"), feeds=("Meduza",)),
            feeds=(FAILING, FeedState("https://ok.example/rss", "Fine")),
        ),
        Path("/var/lib/talks-monitor/digests/2025-06-02.md"),
    )
    assert title == "Talks monitor 2025-06-02: 1 newly reported position"
    assert body.splitlines() == [
        "2 relevant reports (of 40 seen) · 2 sources · 2 stories · 1 newly reported position"
        " · 1 failing feed.",
        "",
        "Newly reported demands and concessions:",
        "- NEW russia demand · territory → ukraine: withdraw:donetsk",
        "  “Russia demanded it.”",
        "  first seen 2025-06-02 10:30 EEST · TASS https://n.example/1",
        "",
        "Failing feeds: Broken feed",
        "",
        "Digest: /var/lib/talks-monitor/digests/2025-06-02.md",
    ]


def test_message_neutralises_feed_text_and_caps_the_list() -> None:
    hostile = "See [click](https://evil.example) <https://evil.example|x> \x1b[31mred\nnext"
    entries = [stored(i, new_claim(f"d{i:02}", hostile)) for i in range(MAX_POSITIONS + 3)]
    title, body = digest_message(day(*entries))
    assert title.endswith(f"{MAX_POSITIONS + 3} newly reported positions")
    assert "](" not in body and "<" not in body and "\x1b" not in body
    assert "“See [click] (https://evil.example) ‹https://evil.example|x› red next”" in body
    assert body.count("- NEW ") == MAX_POSITIONS
    assert body.splitlines()[-1] == "… and 3 more in the digest."
    assert digest_message(day())[0] == "Talks monitor 2025-06-02: no newly reported positions"


@pytest.fixture
def apprise_installed() -> None:
    pytest.importorskip("apprise")


def settings(*urls: str) -> Settings:
    return Settings(database=Path("m.db"), digests_dir=Path("d"), notify=urls)


@pytest.mark.usefixtures("apprise_installed")
def test_sends_email_and_json_to_local_receivers() -> None:
    with SmtpReceiver() as smtp, HttpReceiver() as http:
        errors = notify_digest(
            settings(
                f"mailto://localhost:{smtp.port}?smtp=127.0.0.1&mode=insecure"
                "&from=monitor@example.org&to=desk@example.org",
                f"json://127.0.0.1:{http.port}/hook",
            ),
            day(stored(1, new_claim("withdraw:donetsk"))),
            Path("/d/2025-06-02.md"),
        )
        assert errors == []
        (mail,) = smtp.mails
        assert mail.recipients == ["desk@example.org"]
        assert mail.message["Subject"] == "Talks monitor 2025-06-02: 1 newly reported position"
        text = mail.message.get_body(("plain", "html")).get_content()  # type: ignore[union-attr]
        assert "withdraw:donetsk" in text and "Russia demanded it." in text
        ((path, posted),) = http.json_posts()
        assert path == "/hook"
        assert posted["title"] == "Talks monitor 2025-06-02: 1 newly reported position"
        assert posted["message"].startswith("1 relevant report (of 40 seen)")
        assert "Digest: /d/2025-06-02.md" in posted["message"]


@pytest.mark.usefixtures("apprise_installed")
def test_failures_are_returned_as_lines_never_raised() -> None:
    with HttpReceiver() as http, HttpReceiver() as down:
        down.answer(500)
        closed = socket.socket()  # a port that was free a moment ago: connection refused
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        errors = notify_digest(
            settings(
                f"json://127.0.0.1:{down.port}/x",
                "nosuchservice://secret-token@host/path",
                f"json://127.0.0.1:{http.port}/ok",
                f"json://user:hunter2@127.0.0.1:{closed_port}/x",
            ),
            day(),
            Path("/d/x.md"),
        )
        assert len(http.json_posts()) == 1  # the good one still went out
    assert [e.split(": ", 1)[0] for e in errors] == [
        "notify #1 (json://…)",
        "notify #2 (nosuchservice://…)",
        "notify #4 (json://…)",
    ]
    assert all("\n" not in e for e in errors)
    assert not any("secret-token" in e or "hunter2" in e for e in errors)


@pytest.mark.usefixtures("apprise_installed")
def test_check_notify_urls() -> None:
    assert check_notify_urls(["json://127.0.0.1:9/x", "ntfy://ntfy.example/topic"]) == []
    (problem,) = check_notify_urls(["json://127.0.0.1:9/x", "bogus://token@x"])
    assert problem == "notify #2 (bogus://…): Unparseable URL (URL)"


def test_nothing_configured_sends_nothing() -> None:
    assert notify_digest(settings(), day(), Path("/d/x.md")) == []


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as http:
        yield http


@pytest.mark.usefixtures("apprise_installed")
def test_cli_notify_sends_the_days_digest(tmp_path: Path, receiver: HttpReceiver) -> None:
    feed = FeedConfig("https://a.example/rss", "Agency")
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "settings:\n  timezone: UTC\n  notify:\n"
        f"    - json://127.0.0.1:{receiver.port}/digest\n"
        f"feeds:\n  - url: {feed.url}\n    name: Agency\n",
        encoding="utf-8",
    )
    with Store(tmp_path / "monitor.db", timezone="UTC") as store:
        store.sync_feeds([feed])
        e = Entry("id-1", "k1", "https://a.example/1", "Offer", "", "", T, None, "en")
        offer = Claim("ukraine", "concession", "territory", "russia", "dmz:donbas", "Kyiv offered.")
        with store.transaction():
            store.ingest(feed.url, [(e, Analysis(True, 0.9, claims=(offer,)))], T)
    done = monitor(path, "notify", "--date", DAY.isoformat())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "digest 2025-06-02: notified 1 of 1 URLs"
    ((where, posted),) = receiver.json_posts()
    assert where == "/digest"
    assert "NEW ukraine concession · territory → russia: dmz:donbas" in posted["message"]
    assert f"Digest: {tmp_path / 'digests' / '2025-06-02.md'}" in posted["message"]

    receiver.answer(503)
    failed = monitor(path, "notify", "--date", DAY.isoformat())
    assert failed.returncode == 1
    assert failed.stderr.startswith("monitor: notification failed: notify #1 (json://…): ")


def test_cli_notify_without_urls_sends_nothing_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/rss\n", encoding="utf-8")
    done = monitor(path, "notify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{path}: settings.notify lists no URL; nothing sent"
