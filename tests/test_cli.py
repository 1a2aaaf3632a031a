"""The installed `monitor` command, run as a user would, against a local server and real files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import poll_lock
from tests.feedserver import FeedServer
from tests.ops_helpers import MONITOR, monitor
from tests.rss import TALKS, rss


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def write_config(tmp_path: Path, urls: list[str], settings: str = "") -> Path:
    lines = ["settings:", "  total_timeout: 5s", "  timezone: UTC"]
    lines += [f"  {line}" for line in settings.splitlines() if line]
    lines.append("feeds:")
    for i, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: Feed {i}"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_installed_command_and_module_agree() -> None:
    assert MONITOR.exists()
    out = subprocess.run([str(MONITOR), "--help"], capture_output=True, text=True, check=True)
    mod = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, check=True
    )
    assert out.stdout.replace("monitor", "") == mod.stdout.replace("monitor", "")
    for command in (
        "poll",
        "run",
        "digest",
        "status",
        "export",
        "search",
        "reclassify",
        "explain",
        "eval",
    ):
        assert command in out.stdout


def test_broken_config_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - url: https://a.org/x\n  - url: gopher://b.org/\n", encoding="utf-8"
    )
    done = monitor(path, "poll")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"monitor: {path}:3: feeds[1].url: not an http(s) URL: 'gopher://b.org/'"
    )
    assert "Traceback" not in done.stderr


def test_bad_usage_exits_2(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, [server.add("/a.xml", body=rss(TALKS))])
    assert monitor(config, "poll").returncode == 0
    done = monitor(config, "digest", "--date", "yesterweek")
    assert done.returncode == 2 and "--date" in done.stderr


def test_poll_status_export_search_digest(tmp_path: Path, server: FeedServer) -> None:
    good = server.add("/a.xml", body=rss(TALKS), etag='"1"')
    bad = server.add("/missing.xml", status=404)
    config = write_config(tmp_path, [good, bad])

    done = monitor(config, "poll")
    assert done.returncode == 0, done.stderr
    # Not a terminal: one short summary line, no progress bar.
    assert done.stdout.startswith("polled 2 feeds in ")
    assert "1 ok" in done.stdout and "1 failed" in done.stdout and "3 new entries" in done.stdout
    assert done.stderr == ""

    done = monitor(config, "poll")
    assert "1 not modified" in done.stdout and "1 skipped" in done.stdout

    status = monitor(config, "status").stdout
    assert "ok       Feed 0" in status
    assert "FAILING  Feed 1" in status and "HTTP 404" in status
    assert "2 feeds, 1 failing; 3 entries, 2 relevant" in status

    lines = monitor(config, "export", "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3
    for record in records:
        for key in (
            "id",
            "feed",
            "url",
            "title",
            "published",
            "first_seen",
            "relevant",
            "score",
            "story",
            "claims",
        ):
            assert key in record
        for c in record["claims"]:
            assert set(c) >= {
                "actor",
                "stance",
                "issue",
                "target",
                "detail",
                "evidence",
                "first_reported",
                "new",
            }
    assert sum(r["relevant"] for r in records) == 2
    assert monitor(config, "export", "--since", "2999-01-01").stdout == ""

    found = monitor(config, "search", "prisoners").stdout
    assert "1,200 prisoners" in found and "no matches" not in found
    assert "no matches" in monitor(config, "search", "zebra").stdout

    done = monitor(config, "digest", "--date", "today")
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip())
    assert written.parent == tmp_path / "digests"
    assert TALKS[0][0].split(" at ")[0] in written.read_text(encoding="utf-8")


def test_status_before_any_poll_is_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["https://example.org/feed"])
    done = monitor(config, "status")
    assert done.returncode == 1
    assert "no database yet" in done.stderr and "Traceback" not in done.stderr


def test_second_poll_while_one_runs_exits_with_a_message(
    tmp_path: Path, server: FeedServer
) -> None:
    config = write_config(tmp_path, [server.add("/a.xml", body=rss(TALKS))])
    with poll_lock(tmp_path / "monitor.db"):
        done = monitor(config, "poll")
    assert done.returncode == 1
    assert "another poll is running" in done.stderr
    assert server.requests_for("/a.xml") == []


def test_run_polls_on_schedule_and_stops_cleanly_on_sigterm(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.add("/a.xml", body=rss(TALKS), etag='"1"')
    config = write_config(tmp_path, [url], settings="poll_interval: 1s")
    proc = subprocess.Popen(
        [str(MONITOR), "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while len(server.requests_for("/a.xml")) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.requests_for("/a.xml")) >= 3  # at start, then every second
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "worker started" in err and "worker stopped" in err
    assert "status=ok new=3" in err and "status=not_modified" in err
    done = monitor(config, "status")
    assert "3 entries" in done.stdout


def test_explain_reclassify_and_user_terms(tmp_path: Path, server: FeedServer) -> None:
    talks = ("Envoys meet at the Glenmoor retreat", "The Glenmoor retreat hosted envoys today.")
    url = server.add("/a.xml", body=rss([*TALKS, talks]))
    config = write_config(tmp_path, [url])
    assert monitor(config, "poll").returncode == 0
    records = {
        r["title"]: r for r in map(json.loads, monitor(config, "export").stdout.split("\n")[:-1])
    }
    assert not records[talks[0]]["relevant"]

    explained = monitor(config, "explain", records[TALKS[1][0]]["id"])
    assert explained.returncode == 0, explained.stderr
    assert TALKS[1][0] in explained.stdout and "demand" in explained.stdout
    missing = monitor(config, "explain", "no-such-entry")
    assert missing.returncode == 2 and "no stored entry" in missing.stderr

    done = monitor(config, "reclassify")
    assert done.stdout.strip() == "reclassified 4 entries: 0 changed"

    # A user teaches the monitor a new venue of the talks; reclassify applies it to stored entries.
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text + "analysis:\n  relevance:\n    terms: [Glenmoor retreat]\n    context: [envoys]\n",
        encoding="utf-8",
    )
    done = monitor(config, "reclassify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "reclassified 4 entries: 1 changed"
    records = {
        r["title"]: r for r in map(json.loads, monitor(config, "export").stdout.split("\n")[:-1])
    }
    assert records[talks[0]]["relevant"]


def test_bad_analysis_section_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["https://example.org/feed"])
    config.write_text(
        config.read_text(encoding="utf-8") + "analysis:\n  actors:\n    martians: [Zorg]\n",
        encoding="utf-8",
    )
    done = monitor(config, "poll")
    assert done.returncode == 2
    assert "analysis" in done.stderr and "martians" in done.stderr


def test_eval_scores_a_labelled_file(tmp_path: Path) -> None:
    labelled = Path(__file__).parent / "data" / "labelled.jsonl"
    done = monitor(tmp_path / "absent.yaml", "eval", str(labelled), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "relevance" in done.stdout and "claims" in done.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    done = monitor(tmp_path / "absent.yaml", "eval", str(bad))
    assert done.returncode == 2 and str(bad) in done.stderr


def test_doctor_finds_and_fixes_a_damaged_search_index(tmp_path: Path, server: FeedServer) -> None:
    import sqlite3

    config = write_config(tmp_path, [server.add("/a.xml", body=rss(TALKS))])
    assert monitor(config, "poll").returncode == 0
    done = monitor(config, "doctor")
    assert done.returncode == 0 and ": ok (" in done.stdout and "3 entries" in done.stdout
    conn = sqlite3.connect(tmp_path / "monitor.db")
    conn.execute("DROP TRIGGER entries_au")
    conn.execute("UPDATE entries SET title = 'changed behind the index'")
    conn.commit()
    conn.close()
    done = monitor(config, "doctor")
    assert done.returncode == 1
    assert "problem: full-text index" in done.stdout and "doctor --fix" in done.stdout
    assert monitor(config, "doctor", "--fix").returncode == 0
    assert "changed behind the index" in monitor(config, "search", "behind").stdout
