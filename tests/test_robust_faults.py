"""Promise 2 (issue 5): network faults stay inside one feed.

Every fault of the issue's list is staged on 127.0.0.1 (a FeedServer route, or a raw socket
server for what an HTTP server will not do: resets, lies, a full accept queue) and polled in ONE
`run_once` beside a good feed. The good feed's entries are stored; each bad feed has a recorded
one-line error and a `next_attempt` in the future; and the whole run takes about one
`total_timeout`, however many feeds hang. Memory stays bounded by the size cap even for a
decompression bomb, measured on a `monitor poll` subprocess with `os.wait4`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.analyze import Analyzer
from monitor.config import load_config
from monitor.models import RunSummary
from monitor.pipeline import open_store, run_once
from tests.feedserver import FeedServer
from tests.rss import TALKS, rss

MONITOR = Path(sys.executable).parent / "monitor"
TOTAL_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 0.5
CAP = 1024 * 1024  # max_feed_size: 1MB
MB = 1024 * 1024


# --- raw socket servers ------------------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 that hands each accepted connection to `handle` in a thread.

    For faults an HTTP server library will not stage: resets, lies about lengths, silence.
    """

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self._handle = handle
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self._handle(conn)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._sock.close()
        self._thread.join(timeout=5)


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request head (up to the blank line)."""
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def reset_at_once(conn: socket.socket) -> None:
    read_request(conn)
    reset(conn)


def reset_mid_body(conn: socket.socket) -> None:
    read_request(conn)
    body = rss(TALKS)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:300]
    )
    time.sleep(0.1)
    reset(conn)


def truncated_then_closed(conn: socket.socket) -> None:
    """Content-Length promises 5,000 bytes more than are sent, then the connection closes."""
    read_request(conn)
    body = rss(TALKS)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        + f"Content-Length: {len(body) + 5000}\r\n\r\n".encode()
        + body
    )
    conn.shutdown(socket.SHUT_WR)


def silent(conn: socket.socket) -> None:
    """Accept, read the request, never answer (until the test ends)."""
    read_request(conn)
    conn.settimeout(0.1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if not conn.recv(1):
                return
        except TimeoutError:
            continue


@contextlib.contextmanager
def full_accept_queue() -> Iterator[int]:
    """A listening socket that never accepts, with its accept queue already full: the kernel
    drops further SYNs, so a connect hangs until the client's connect timeout. Yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    try:
        # backlog 0 admits one connection on Linux; a few more make sure the queue is full.
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.05)
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", port))
            staged = False
        except (TimeoutError, BlockingIOError):
            staged = True
        finally:
            probe.close()
        if not staged:
            pytest.skip(
                "this kernel accepts beyond the backlog: a connect timeout is not stageable"
            )
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed in chunks (never `size` bytes in memory). Cached."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = bytes(MB)
    out = [packer.compress(chunk) for _ in range(size // MB)]
    out.append(packer.flush())
    return b"".join(out)


def roomy(server: FeedServer) -> FeedServer:
    """Give the server's listening socket a long accept queue.

    socketserver listens with a backlog of 5: with 30 feeds connecting at once, the kernel drops
    SYNs and the client retries after 1 s, which a 1 s connect timeout turns into a failure of
    the test's own server. Calling listen() again on a listening socket resizes the queue.
    """
    server._httpd.socket.listen(256)
    return server


# --- the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One staged fault: its feed URL and a part of the error it must record."""

    name: str
    url: str
    error: str  # a substring of the recorded last_error ("" accepts any error)


@dataclass
class FaultRun:
    summary: RunSummary
    wall: float
    started: datetime
    faults: dict[str, Fault]
    states: dict[str, sqlite3.Row]
    good_entries: int
    entries: int


def _write_config(tmp: Path, feeds: list[tuple[str, str]]) -> Path:
    lines = [
        "settings:",
        "  timezone: UTC",
        "  concurrency: 64",
        "  per_host_concurrency: 64",  # every feed in flight at once: the wall bound is one fetch
        f"  connect_timeout: {CONNECT_TIMEOUT}s",
        f"  read_timeout: {READ_TIMEOUT}s",
        f"  total_timeout: {TOTAL_TIMEOUT}s",
        "  max_feed_size: 1MB",
        "  max_redirects: 5",
        "  poll_interval: 30m",
        "feeds:",
    ]
    for name, url in feeds:
        lines += [f'  - url: "{url}"', f'    name: "{name}"']
    path = tmp / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    tmp = tmp_path_factory.mktemp("faults")
    with (
        FeedServer() as server,
        RawServer(reset_at_once) as rst,
        RawServer(reset_mid_body) as rst_body,
        RawServer(truncated_then_closed) as truncated,
        RawServer(silent) as mute,
        full_accept_queue() as backlog_port,
    ):
        roomy(server)
        good = server.add("/good.xml", body=rss(TALKS), headers={"Content-Type": "text/xml"})
        big = b"<rss><channel>" + b"<!-- padding -->" * (2 * MB // 16) + b"</channel></rss>"
        drip_body = rss(TALKS) + b"<!--" + b"x" * 4000 + b"-->"
        faults = [
            Fault("refused", f"http://127.0.0.1:{closed_port()}/feed.xml", "connection refused"),
            Fault("dns", "http://feeds.nowhere.invalid/rss.xml", "cannot resolve host name"),
            Fault("reset at once", rst.url(), ""),
            Fault("reset mid-body", rst_body.url(), ""),
            Fault(
                "connect timeout",
                f"http://127.0.0.1:{backlog_port}/feed.xml",
                f"connect timeout after {CONNECT_TIMEOUT:g}s",
            ),
            Fault(
                "timeout mid-body",
                server.add("/stall.xml", body=rss(TALKS), drip=(200, 3 * READ_TIMEOUT)),
                f"read timeout after {READ_TIMEOUT:g}s",
            ),
            Fault(
                "slow drip",
                server.add("/drip.xml", body=drip_body, drip=(40, READ_TIMEOUT / 5)),
                f"timeout after {TOTAL_TIMEOUT:g}s",
            ),
            Fault(
                "no answer (HTTP server)",
                server.add("/never.xml", body=rss(TALKS), delay=60),
                f"read timeout after {READ_TIMEOUT:g}s",
            ),
            Fault("no answer (raw socket)", mute.url(), f"read timeout after {READ_TIMEOUT:g}s"),
            Fault("truncated, closed", truncated.url(), "protocol error"),
            Fault(
                "truncated, kept open",
                server.add("/short.xml", body=rss(TALKS), content_length=len(rss(TALKS)) + 500),
                f"read timeout after {READ_TIMEOUT:g}s",
            ),
            Fault(
                "over cap, declared",
                server.add("/big.xml", body=big),
                "body larger than 1 MB",
            ),
            Fault(
                "over cap, streamed",
                server.add("/big-stream.xml", body=big, content_length=False),
                "body larger than 1 MB",
            ),
            Fault(
                "gzip bomb",
                server.add(
                    "/bomb.xml", body=gzip_bomb(256 * MB), headers={"Content-Encoding": "gzip"}
                ),
                "body larger than 1 MB",
            ),
            Fault(
                "deflate bomb",
                server.add(
                    "/dbomb.xml",
                    body=zlib.compress(bytes(64 * MB), 9),
                    headers={"Content-Encoding": "deflate"},
                ),
                "body larger than 1 MB",
            ),
            Fault(
                "unknown encoding",
                server.add("/br.xml", body=rss(TALKS), headers={"Content-Encoding": "br"}),
                "unsupported Content-Encoding",
            ),
            Fault(
                "corrupt gzip",
                server.add(
                    "/corrupt.xml",
                    body=b"\x1f\x8b\x08\x00garbage",
                    headers={"Content-Encoding": "gzip"},
                ),
                "",  # the decoder sees no complete gzip header: "empty document"
            ),
            Fault(
                "redirect loop",
                server.redirect("/loop-a.xml", "/loop-b.xml", status=302),
                "redirect loop",
            ),
            Fault(
                "redirect to itself",
                server.redirect("/self.xml", "/self.xml", status=301),
                "redirect loop",
            ),
            Fault(
                "redirect to file://",
                server.redirect("/to-file.xml", "file:///etc/passwd", status=302),
                "redirect to non-http(s) URL file:",
            ),
            Fault(
                "redirect to ftp://",
                server.redirect("/to-ftp.xml", "ftp://127.0.0.1/feed.xml", status=301),
                "redirect to non-http(s) URL ftp://",
            ),
            Fault(
                "too many redirects",
                server.redirect("/hop0.xml", "/hop1.xml", status=307),
                "too many redirects",
            ),
            Fault(
                "redirect without Location",
                server.add("/nowhere.xml", status=302),
                "without Location",
            ),
            Fault(
                "HTML page",
                server.add(
                    "/page.xml",
                    body=b"<!DOCTYPE html><html><head><title>Login</title></head>"
                    b"<body><p>Please sign in</p></body></html>",
                    headers={"Content-Type": "text/html; charset=utf-8"},
                ),
                "not a feed (HTML page)",
            ),
            Fault("empty 200", server.add("/empty.xml", body=b""), "empty document"),
            Fault(
                "binary garbage",
                server.add("/garbage.xml", body=random.Random(3).randbytes(5000)),
                "",
            ),
            Fault("HTTP 500", server.add("/500.xml", status=500), "HTTP 500"),
            Fault("HTTP 502", server.add("/502.xml", status=502), "HTTP 502"),
            Fault("HTTP 503", server.add("/503.xml", status=503), "HTTP 503"),
            Fault("HTTP 504", server.add("/504.xml", status=504), "HTTP 504"),
            Fault(
                "HTTP 429 Retry-After",
                server.add("/429.xml", status=429, headers={"Retry-After": "3600"}),
                "HTTP 429",
            ),
            Fault(
                "HTTP 503 Retry-After date",
                server.add(
                    "/503-date.xml",
                    status=503,
                    headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
                ),
                "HTTP 503",
            ),
        ]
        server.redirect("/loop-b.xml", "/loop-a.xml", status=302)
        for hop in range(1, 10):
            server.redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml", status=307)
        config = load_config(
            _write_config(tmp, [("good", good)] + [(f.name, f.url) for f in faults])
        )
        analyzer = Analyzer.load(config.analysis)
        with open_store(config) as store:
            started_at = datetime.now(UTC).replace(microsecond=0)
            t = time.monotonic()
            summary = run_once(config, store, analyzer, rng=random.Random(2))
            wall = time.monotonic() - t
            states = {f.name: f for f in store.feed_states()}
            counts = store.counts()
        db = sqlite3.connect(config.settings.database)
        db.row_factory = sqlite3.Row
        rows = {r["name"]: r for r in db.execute("SELECT * FROM feeds")}
        db.close()
        yield FaultRun(
            summary=summary,
            wall=wall,
            started=started_at,
            faults={f.name: f for f in faults},
            states=rows,
            good_entries=states["good"].entries,
            entries=counts["entries"],
        )


FAULT_NAMES = [
    "refused",
    "dns",
    "reset at once",
    "reset mid-body",
    "connect timeout",
    "timeout mid-body",
    "slow drip",
    "no answer (HTTP server)",
    "no answer (raw socket)",
    "truncated, closed",
    "truncated, kept open",
    "over cap, declared",
    "over cap, streamed",
    "gzip bomb",
    "deflate bomb",
    "unknown encoding",
    "corrupt gzip",
    "redirect loop",
    "redirect to itself",
    "redirect to file://",
    "redirect to ftp://",
    "too many redirects",
    "redirect without Location",
    "HTML page",
    "empty 200",
    "binary garbage",
    "HTTP 500",
    "HTTP 502",
    "HTTP 503",
    "HTTP 504",
    "HTTP 429 Retry-After",
    "HTTP 503 Retry-After date",
]


def test_good_feed_is_stored_beside_every_fault(fault_run: FaultRun) -> None:
    outcomes = {o.name: o.status for o in fault_run.summary.outcomes}
    assert outcomes["good"] == "ok"
    assert fault_run.good_entries == 3 and fault_run.entries == 3
    assert sorted(n for n, s in outcomes.items() if s == "error") == sorted(FAULT_NAMES)


def test_run_wall_time_is_bounded_by_the_total_timeout(fault_run: FaultRun) -> None:
    # Every feed is in flight at once, so the run lasts about one total_timeout, plus the
    # parsing and storing of the good feed; never the sum of the hangs (minutes).
    print(f"\nfault run: {len(FAULT_NAMES) + 1} feeds in {fault_run.wall:.2f}s")
    assert fault_run.wall < TOTAL_TIMEOUT + 2.5


@pytest.mark.parametrize("name", FAULT_NAMES)
def test_fault_is_recorded_with_backoff(fault_run: FaultRun, name: str) -> None:
    fault = fault_run.faults[name]
    row = fault_run.states[name]
    error = row["last_error"]
    print(f"\n{name}: {error}")
    assert error and fault.error in error
    assert "\n" not in error and len(error) <= 300
    assert row["consecutive_failures"] == 1 and row["last_success"] is None
    assert row["next_attempt"] > row["last_attempt"]
    # The first failure backs off about one poll interval (30m, jitter 0.8-1.2).
    next_attempt = datetime.strptime(row["next_attempt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert next_attempt >= fault_run.started + timedelta(minutes=23)


def test_retry_after_pushes_the_next_attempt(fault_run: FaultRun) -> None:
    def when(name: str) -> datetime:
        text = fault_run.states[name]["next_attempt"]
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    assert when("HTTP 429 Retry-After") >= fault_run.started + timedelta(seconds=3600 - 5)
    # A date years ahead is capped (30 days), not obeyed blindly, and still respected.
    assert (
        fault_run.started + timedelta(days=29)
        <= when("HTTP 503 Retry-After date")
        <= fault_run.started + timedelta(days=31)
    )


# --- memory ------------------------------------------------------------------------------


def poll_peak_rss(config: Path) -> tuple[int, str, str, int]:
    """Run `monitor poll` in a child and reap it with wait4: (peak RSS bytes, out, err, code)."""
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    out_path = config.with_suffix(".out")
    err_path = config.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(MONITOR), "--config", str(config), "poll"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return (
        usage.ru_maxrss * 1024,
        out_path.read_text(encoding="utf-8"),
        err_path.read_text(encoding="utf-8"),
        proc.returncode,
    )


def test_decompression_bomb_memory_stays_near_the_cap(tmp_path: Path) -> None:
    bomb = gzip_bomb(256 * MB)  # 256 MB of zeros in 255 KB
    with FeedServer() as server:
        small = server.add("/small.xml", body=rss(TALKS))
        big = server.add("/bomb.xml", body=bomb, headers={"Content-Encoding": "gzip"})
        (tmp_path / "base").mkdir()
        (tmp_path / "bomb").mkdir()
        base_rss, _, base_err, base_code = poll_peak_rss(
            _write_config(tmp_path / "base", [("small", small)])
        )
        bomb_rss, out, err, code = poll_peak_rss(_write_config(tmp_path / "bomb", [("bomb", big)]))
    assert base_code == 0, base_err
    assert code == 0, err
    assert "1 failed" in out
    print(f"\npeak RSS: baseline {base_rss / MB:.0f} MB, bomb {bomb_rss / MB:.0f} MB")
    # The cap is 1 MB; allow generous noise, but nowhere near the 256 MB the bomb inflates to.
    assert bomb_rss - base_rss < 40 * MB
