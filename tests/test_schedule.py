"""The worker's jobs, run for real (the end-to-end `monitor run` test is in test_cli.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.config import load_config
from monitor.errors import StoreError
from monitor.schedule import Worker, run_worker
from monitor.store import Store, poll_lock
from tests.feedserver import FeedServer
from tests.rss import TALKS, rss


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def config_for(tmp_path: Path, url: str, digest_time: str = "07:00") -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "settings:\n  timezone: Pacific/Auckland\n  poll_interval: 10m\n"
        f'  digest_time: "{digest_time}"\n'
        f"feeds:\n  - url: {url}\n    name: A\n",
        encoding="utf-8",
    )
    return path


def test_jobs_coalesce_run_alone_and_poll_at_once(tmp_path: Path, server: FeedServer) -> None:
    config = load_config(config_for(tmp_path, server.add("/a.xml", body=rss(TALKS)), "06:45"))
    scheduler = Worker(config).scheduler()
    scheduler.start(paused=True)
    try:
        poll, digest = scheduler.get_job("poll"), scheduler.get_job("digest")
        zone = ZoneInfo("Pacific/Auckland")
        assert poll.coalesce and poll.max_instances == 1 and poll.misfire_grace_time >= 60
        assert poll.trigger.interval == timedelta(minutes=10)
        assert poll.next_run_time <= datetime.now(zone) + timedelta(seconds=1)  # due at once
        assert digest.coalesce and digest.max_instances == 1
        nxt = digest.next_run_time.astimezone(zone)
        assert (nxt.hour, nxt.minute) == (6, 45)
    finally:
        scheduler.shutdown(wait=False)


def test_poll_job_stores_and_digest_job_writes_yesterday(
    tmp_path: Path, server: FeedServer
) -> None:
    config = load_config(config_for(tmp_path, server.add("/a.xml", body=rss(TALKS))))
    worker = Worker(config)
    worker.poll()
    with Store(config.settings.database) as store:
        assert store.counts()["entries"] == 3
    worker.digest()
    yesterday = datetime.now(ZoneInfo("Pacific/Auckland")).date() - timedelta(days=1)
    digest = tmp_path / "digests" / f"{yesterday}.md"
    assert digest.exists() and (tmp_path / "digests" / "index.md").exists()
    # Entries first seen today belong to today's digest, not yesterday's.
    assert TALKS[0][0][:20] not in digest.read_text(encoding="utf-8")


def test_poll_job_skips_while_another_poll_runs(
    tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(config_for(tmp_path, server.add("/a.xml", body=rss(TALKS))))
    worker = Worker(config)
    with poll_lock(config.settings.database):
        worker.poll()
    assert "poll skipped: another poll is running" in caplog.text
    assert server.requests_for("/a.xml") == []


def test_worker_refuses_a_damaged_database(tmp_path: Path) -> None:
    config = load_config(config_for(tmp_path, "https://example.org/feed"))
    Store(config.settings.database).close()
    data = bytearray(config.settings.database.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    config.settings.database.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="monitor doctor"):
        run_worker(config)
