"""Promises 3 and 4 (issue 5): a kill loses and doubles nothing; overlapping runs are safe.

The installed `monitor` runs in subprocesses against slow feeds on a local FeedServer.

* `monitor poll` is SIGKILLed at several points (during start-up, and after 4, 16 and 30 of 40
  feeds were requested); after each kill the database passes `PRAGMA integrity_check`, every
  feed is stored whole or not at all, and everything committed before is still there with the
  same `first_seen`. A final poll completes; then nothing is missing and nothing is doubled.
* `monitor digest` is SIGKILLed at several points of its run: the digest, index and feed files
  are each absent or complete, never half-written.
* Two `monitor poll` at once: exactly one ingests, the other exits 1 ("another poll is
  running") without a request. `monitor run` beside manual polls: never two polls on the wire
  at once, no duplicates, a consistent database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feedserver import FeedServer

MONITOR = Path(sys.executable).parent / "monitor"
FEEDS = 32  # at least monitor.pipeline.POOL_MIN_FEEDS (16): the poll forks parse workers
OWN_ITEMS = 10  # items only one feed carries
SHARED_ITEMS = 2  # wire stories every feed carries: one entry, many sightings


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s._httpd.socket.listen(256)  # socketserver's backlog of 5 drops SYNs under a burst
        yield s


def feed_doc(feed: int, items: int = OWN_ITEMS, shared: int = SHARED_ITEMS) -> bytes:
    """An RSS document for feed number `feed`: its own items and the shared wire stories."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', "<rss version='2.0'><channel>"]
    parts.append(f"<title>Feed {feed}</title><link>https://news{feed}.example/</link>")
    for k in range(shared):
        parts.append(
            f"<item><title>Wire: Istanbul talks round {k} on prisoner exchange</title>"
            f"<link>https://wire.example/story/{k}</link><guid>https://wire.example/story/{k}</guid>"
            "<description>Russia and Ukraine agreed to exchange prisoners of war.</description>"
            "</item>"
        )
    for j in range(items):
        parts.append(
            f"<item><title>Feed {feed} report {j}: Kremlin demands Ukraine withdraw</title>"
            f"<link>https://news{feed}.example/story/{j}</link>"
            f"<guid>https://news{feed}.example/story/{j}</guid>"
            f"<description>Kremlin spokesman said Russia demands Ukraine withdraw from the "
            f"Donetsk region before a ceasefire (item {j} of feed {feed}).</description></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def write_config(tmp_path: Path, urls: list[str], settings: str = "") -> Path:
    lines = ["settings:", "  timezone: UTC", "  total_timeout: 20s", "  per_host_concurrency: 2"]
    lines += [f"  {line}" for line in settings.splitlines() if line]
    lines.append("feeds:")
    for i, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: Feed {i:02d}"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    """Start the installed `monitor` with `--config config` and `args`.

    Output goes to files beside the config, not pipes: a process that leaves children behind
    must not make the test hang on a pipe they still hold.
    """
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    n = len(list(config.parent.glob("run-*.out")))
    out = (config.parent / f"run-{n}.out").open("w+", encoding="utf-8")
    err = (config.parent / f"run-{n}.err").open("w+", encoding="utf-8")
    proc = subprocess.Popen(
        [str(MONITOR), "--config", str(config), *args],
        stdout=out,
        stderr=err,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    out.close()
    err.close()
    proc.output_files = (Path(out.name), Path(err.name))  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    """Wait for `proc`; return its exit code, stdout and stderr."""
    proc.wait(timeout=timeout)
    out, err = proc.output_files  # type: ignore[attr-defined]
    return proc.returncode, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` every 10 ms until it holds or `timeout` passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def children_of(pid: int) -> list[int]:
    """Pids of the live processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill(proc: subprocess.Popen[str], sig: int = signal.SIGKILL, *, reap: bool = True) -> list[int]:
    """Send `sig` to `proc` and wait for it. Returns the pids of its children still alive half
    a second later (orphans); with `reap`, kills them (this test started them)."""
    children = children_of(proc.pid)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode == -sig
    if children:
        time.sleep(0.5)  # time for workers to notice their parent is gone, if they do
    survivors = [pid for pid in children if alive(pid)]
    if reap:
        kill_pids(survivors)
    return survivors


def kill_pids(pids: list[int]) -> None:
    """SIGKILL each of `pids` (processes this test started) that is still there."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Snapshot:
    """What a database holds: entries (url -> id, first_seen) and sightings per feed."""

    def __init__(self, db_path: Path) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        self.sightings: dict[str, int] = {}
        self.pairs: list[tuple[str, str]] = []
        self.orphans = 0
        self.integrity = "absent"
        if not db_path.exists():
            return
        db = sqlite3.connect(db_path)
        try:
            self.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if "entries" not in tables:
                return
            rows = db.execute("SELECT url, id, first_seen FROM entries").fetchall()
            urls = [r[0] for r in rows]
            assert len(urls) == len(set(urls)), "an article stored twice"
            self.entries = {u: (i, f) for u, i, f in rows}
            self.sightings = dict(
                db.execute(
                    "SELECT f.name, count(*) FROM sightings s JOIN feeds f ON f.url = s.feed_url "
                    "GROUP BY f.name"
                ).fetchall()
            )
            self.pairs = db.execute("SELECT feed_url, feed_key FROM sightings").fetchall()
            self.orphans = db.execute(
                "SELECT (SELECT count(*) FROM entries WHERE id NOT IN "
                "(SELECT entry_id FROM sightings)) + (SELECT count(*) FROM sightings WHERE "
                "entry_id NOT IN (SELECT id FROM entries))"
            ).fetchone()[0]
        finally:
            db.close()


def check_consistent(snap: Snapshot, before: Snapshot) -> None:
    """A database after a kill: sound, feeds whole or absent, nothing committed lost."""
    assert snap.integrity in ("ok", "absent")
    assert snap.orphans == 0
    assert len(snap.pairs) == len(set(snap.pairs))
    # One transaction per feed: a feed's items are all stored or none.
    for name, count in snap.sightings.items():
        assert count == OWN_ITEMS + SHARED_ITEMS, (name, count)
    for url, (entry_id, first_seen) in before.entries.items():
        assert snap.entries.get(url) == (entry_id, first_seen), url
    assert set(before.sightings) <= set(snap.sightings)


def test_sigkill_during_poll_loses_and_doubles_nothing(tmp_path: Path, server: FeedServer) -> None:
    urls = [server.add(f"/f{i:02d}.xml", body=feed_doc(i), delay=0.1) for i in range(FEEDS)]
    config = write_config(tmp_path, urls)
    db_path = tmp_path / "monitor.db"
    before = Snapshot(db_path)
    history = []
    # During start-up (imports, schema), after 10 of the 32 feeds were asked for, and once the
    # first feeds are stored (while the rest are being fetched and stored).
    for point in ("0.3s", "1.0s", 10, "stored"):
        server.reset_stats()
        proc = start(config, "poll")
        if point == "stored":
            stored = len(before.sightings)
            assert wait_until(lambda n=stored: len(Snapshot(db_path).sightings) > n, 60)
        elif isinstance(point, str):
            time.sleep(float(point[:-1]))
        else:
            assert wait_until(lambda n=point: len(server.requests) >= n, 30), point
        assert proc.poll() is None, "the poll ended before it could be killed"
        # Parse workers die with the poll (see the test below); kill() would reap any orphan:
        # this test is about the data.
        orphans = kill(proc)
        snap = Snapshot(db_path)
        check_consistent(snap, before)
        history.append((point, len(snap.entries), len(snap.sightings), len(orphans)))
        before = snap
    print(f"\nafter each kill (point, entries, feeds stored, orphans): {history}")
    # Something was committed before the last kill: the kills hit a poll that was ingesting.
    assert len(before.sightings) > 0

    code, _, err = finish(start(config, "poll"))
    assert code == 0, err
    assert "another poll" not in err  # the killed process's lock died with it
    final = Snapshot(db_path)
    check_consistent(final, before)
    assert final.integrity == "ok"
    assert len(final.entries) == FEEDS * OWN_ITEMS + SHARED_ITEMS
    assert len(final.pairs) == FEEDS * (OWN_ITEMS + SHARED_ITEMS)
    assert set(final.sightings) == {f"Feed {i:02d}" for i in range(FEEDS)}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_poll_leaves_no_process_and_no_lock_behind(
    tmp_path: Path, server: FeedServer, sig: int
) -> None:
    urls = [server.add(f"/f{i:02d}.xml", body=feed_doc(i), delay=0.1) for i in range(20)]
    config = write_config(tmp_path, urls)
    proc = start(config, "poll")
    assert wait_until(lambda: len(server.requests) >= 6, 30)
    orphans = kill(proc, sig, reap=False)
    try:
        code, _, err = finish(start(config, "poll"))
    finally:
        kill_pids(orphans)
    # The next poll must run (cron's next tick), and nothing of the old one may linger.
    assert code == 0 and "another poll is running" not in err, err
    assert orphans == []


def test_sigkill_during_digest_never_leaves_a_partial_file(
    tmp_path: Path, server: FeedServer
) -> None:
    urls = [server.add(f"/f{i:02d}.xml", body=feed_doc(i)) for i in range(6)]
    config = write_config(tmp_path, urls)
    code, _, err = finish(start(config, "poll"))
    assert code == 0, err
    day = datetime.now(UTC).date().isoformat()
    digests = tmp_path / "digests"

    t = time.monotonic()
    code, _, err = finish(start(config, "digest", "--date", day))
    took = time.monotonic() - t
    assert code == 0, err
    reference = {p.name: p.read_bytes() for p in digests.iterdir() if not p.name.startswith(".")}
    assert set(reference) == {f"{day}.md", "index.md", "feed.xml"}
    assert b"Feed 00" in reference[f"{day}.md"]

    outcomes = []
    for fraction in (0.8, 0.9, 0.95, 1.0):
        for p in digests.iterdir():
            p.unlink()
        proc = start(config, "digest", "--date", day)
        time.sleep(took * fraction)
        # The digest may finish between a check and the signal: either way, no partial file.
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        present = {p.name: p.read_bytes() for p in digests.iterdir()} if digests.exists() else {}
        for name, data in present.items():
            if name.startswith("."):
                continue  # a temp file of an interrupted write: never read as a digest
            assert data == reference[name], f"{name} is partial or wrong after a kill"
        outcomes.append(sorted(n for n in present if not n.startswith(".")))
    print(f"\ndigest run {took:.2f}s; files after each kill: {outcomes}")


def test_two_polls_at_once_one_ingests_the_other_exits_1(
    tmp_path: Path, server: FeedServer
) -> None:
    urls = [server.add(f"/f{i:02d}.xml", body=feed_doc(i), delay=0.3) for i in range(10)]
    config = write_config(tmp_path, urls)
    first, second = start(config, "poll"), start(config, "poll")
    results = [finish(first), finish(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(r for r in results if r[0] == 1)
    winner = next(r for r in results if r[0] == 0)
    assert "another poll is running" in loser[2] and "Traceback" not in loser[2]
    assert loser[1] == ""
    assert f"{10 * OWN_ITEMS + SHARED_ITEMS} new entries" in winner[1]
    # Only one process went to the network: each feed was asked for exactly once.
    for i in range(10):
        assert len(server.requests_for(f"/f{i:02d}.xml")) == 1
    snap = Snapshot(tmp_path / "monitor.db")
    assert snap.integrity == "ok" and len(snap.entries) == 10 * OWN_ITEMS + SHARED_ITEMS


def test_run_and_manual_polls_together_stay_consistent(tmp_path: Path, server: FeedServer) -> None:
    feeds = 8
    urls = [server.add(f"/f{i}.xml", body=feed_doc(i, items=3), delay=0.1) for i in range(feeds)]
    config = write_config(tmp_path, urls, settings="poll_interval: 1s")
    worker = start(config, "run")
    manual: list[tuple[int, str, str]] = []
    try:
        assert wait_until(lambda: len(server.requests) >= feeds, 30)
        for i in range(feeds):
            server.route(f"/f{i}.xml").body = feed_doc(i, items=6)
        # One waits for the lock; one does not (and may find the worker polling).
        waiting = start(config, "poll", "--wait", "30")
        hasty = start(config, "poll")
        manual += [finish(waiting), finish(hasty)]
        for i in range(feeds):
            server.route(f"/f{i}.xml").body = feed_doc(i, items=9)
        # The worker polls every second: let it run again beside the change.
        assert wait_until(lambda: len(server.requests) >= 3 * feeds, 30)
    finally:
        worker.send_signal(signal.SIGTERM)
        code, _, worker_err = finish(worker)
    assert code == 0, worker_err
    for code, out, err in manual:
        assert code == 0 or (code == 1 and "another poll is running" in err), (code, out, err)
    assert manual[0][0] == 0  # a --wait poll gets its turn
    # Never two polls on the wire at once: one process holds at most per_host_concurrency.
    host = f"127.0.0.1:{server.port}"
    assert server.max_active_by_host[host] <= 2
    code, _, err = finish(start(config, "poll", "--all", "--wait", "30"))
    assert code == 0, err
    snap = Snapshot(tmp_path / "monitor.db")
    assert snap.integrity == "ok" and snap.orphans == 0
    assert len(snap.entries) == feeds * 9 + SHARED_ITEMS
    assert len(snap.pairs) == len(set(snap.pairs)) == feeds * (9 + SHARED_ITEMS)
