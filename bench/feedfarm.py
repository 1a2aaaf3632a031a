"""A local feed farm for benchmarks: N realistic RSS feeds on 127.0.0.1, in its own process.

    python bench/feedfarm.py --feeds 1000 --entries 30 --latency 0.1 \\
        [--latency-spread 0.05:0.8] [--change-rate 0.1] [--no-validators] [--gzip] [--port 0]

The first line on stdout is ``PORT <n>``. Endpoints:

- ``GET /feed/<i>.xml`` (0 <= i < N): an RSS 2.0 feed of the latest ``--entries`` items (guid,
  link, pubDate, a title and a summary of a few hundred bytes), after that feed's latency. With
  validators (the default) it sends ETag and Last-Modified and answers 304 when they match.
- ``GET|POST /_advance``: next generation; each feed gains one new item with probability
  ``--change-rate`` (deterministic for a ``--seed``). Returns ``{"generation", "changed"}``.
- ``GET /_stats``: JSON counters: requests, feed requests, 200s, 304s, 404s, bytes sent,
  in-flight and max in-flight requests, open and max open connections, generation.
- ``GET|POST /_reset``: zero the counters (the generation and feed contents stay).

The server is a bare asyncio HTTP/1.1 implementation (keep-alive, Content-Length bodies):
thousands of concurrent connections cost it little, so the client under test stays the
bottleneck. From Python, ``start_farm_subprocess(...)`` starts it and returns
``(process, base_url)``; ``farm_stats``/``farm_advance``/``farm_reset`` talk to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import random
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape

EPOCH = datetime(2025, 5, 1, tzinfo=UTC)
ITEM_SPACING = timedelta(minutes=17)

# A general news feed carries mostly other news: about one item in ten is on the talks.
TALKS_SHARE = 0.1
_GENERAL_TEXT = """
    market shares rose after the central bank held rates while analysts expected inflation
    to ease football club won the league match on Sunday as fans celebrated in the stadium
    storm brought heavy rain and flooding to coastal towns where rescue teams evacuated
    residents parliament debated the budget bill on schools hospitals and roads the minister
    said the festival opened with concerts and films while tourists filled hotels company
    reported quarterly profit growth and announced new factory jobs scientists published
    study
    """
_GENERAL_WORDS = tuple(_GENERAL_TEXT.split())
_WORDS = [
    "talks",
    "ceasefire",
    "negotiators",
    "Istanbul",
    "delegation",
    "prisoner",
    "exchange",
    "memorandum",
    "security",
    "guarantees",
    "territory",
    "Donbas",
    "Zaporizhzhia",
    "nuclear",
    "plant",
    "sanctions",
    "relief",
    "frozen",
    "assets",
    "reparations",
    "neutrality",
    "NATO",
    "membership",
    "referendum",
    "elections",
    "envoy",
    "Washington",
    "Brussels",
    "Ankara",
    "Kremlin",
    "Kyiv",
    "proposal",
    "draft",
    "framework",
    "round",
    "summit",
    "mediators",
    "humanitarian",
    "corridor",
    "children",
    "return",
    "monitoring",
    "mission",
    "demilitarised",
    "zone",
    "troop",
    "withdrawal",
    "army",
    "cap",
    "verification",
    "observers",
    "energy",
    "infrastructure",
    "truce",
]


@dataclass
class Stats:
    requests: int = 0
    feed_requests: int = 0
    ok: int = 0
    not_modified: int = 0
    not_found: int = 0
    bytes_sent: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0
    max_connections: int = 0

    def reset(self) -> None:
        in_flight, connections = self.in_flight, self.connections
        for name in vars(self):
            setattr(self, name, 0)
        self.in_flight = self.max_in_flight = in_flight
        self.connections = self.max_connections = connections


@dataclass
class Farm:
    """The farm's state: feed versions, rendered documents, counters. Pure except `serve`."""

    feeds: int
    entries: int = 30
    latency: float = 0.1
    latency_spread: tuple[float, float] | None = None
    change_rate: float = 0.0
    validators: bool = True
    gzip: bool = False
    seed: int = 0
    generation: int = 0
    stats: Stats = field(default_factory=Stats)
    _versions: list[int] = field(default_factory=list)
    _changed_at: list[datetime] = field(default_factory=list)
    _latencies: list[float] = field(default_factory=list)
    _cache: dict[tuple[int, int], tuple[bytes, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self._versions = [self.entries] * self.feeds  # item numbers 1..version exist
        self._changed_at = [EPOCH] * self.feeds
        if self.latency_spread:
            lo, hi = self.latency_spread
            self._latencies = [rng.uniform(lo, hi) for _ in range(self.feeds)]
        else:
            self._latencies = [self.latency] * self.feeds

    # --- generations ----------------------------------------------------------------------

    def advance(self) -> int:
        """Bump the generation; each feed gains an item with probability change_rate."""
        self.generation += 1
        rng = random.Random(f"{self.seed}:{self.generation}")
        changed = 0
        for i in range(self.feeds):
            if rng.random() < self.change_rate:
                self._versions[i] += 1
                self._changed_at[i] = EPOCH + self.generation * timedelta(hours=1)
                self.document(i)  # render now, not inside a timed request
                changed += 1
        return changed

    def warm(self) -> None:
        """Render every feed up front so that the first poll is not slowed by rendering."""
        for i in range(self.feeds):
            self.document(i)

    # --- documents ------------------------------------------------------------------------

    def etag(self, i: int) -> str:
        return f'"f{i}-v{self._versions[i]}"'

    def last_modified(self, i: int) -> str:
        return format_datetime(self._changed_at[i], usegmt=True)

    def document(self, i: int) -> tuple[bytes, bytes]:
        """(plain, gzipped) RSS of feed i at its current version; cached per version."""
        key = (i, self._versions[i])
        if key not in self._cache:
            plain = render_feed(i, self._versions[i], self.entries)
            self._cache[key] = (plain, gzip.compress(plain, compresslevel=6) if self.gzip else b"")
            self._cache.pop((i, self._versions[i] - 1), None)
        return self._cache[key]

    def is_fresh(self, i: int, headers: dict[str, str]) -> bool:
        if not self.validators:
            return False
        inm = headers.get("if-none-match")
        if inm is not None:
            return self.etag(i) in {t.strip().removeprefix("W/") for t in inm.split(",")}
        ims = headers.get("if-modified-since")
        if ims:
            try:
                return self._changed_at[i] <= parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
        return False

    # --- HTTP -----------------------------------------------------------------------------

    async def respond(self, method: str, path: str, headers: dict[str, str]) -> Response:
        self.stats.requests += 1
        if path.startswith("/feed/") and path.endswith(".xml"):
            return await self._feed(path, headers)
        if path == "/_stats":
            return _json({**vars(self.stats), "generation": self.generation, "feeds": self.feeds})
        if path == "/_advance":
            changed = self.advance()
            return _json({"generation": self.generation, "changed": changed})
        if path == "/_reset":
            self.stats.reset()
            return _json({"reset": True})
        self.stats.not_found += 1
        return Response(404, {"Content-Type": "text/plain"}, b"not found\n")

    async def _feed(self, path: str, headers: dict[str, str]) -> Response:
        self.stats.feed_requests += 1
        number = path[len("/feed/") : -len(".xml")]
        if not number.isdigit() or int(number) >= self.feeds:
            self.stats.not_found += 1
            return Response(404, {"Content-Type": "text/plain"}, b"no such feed\n")
        i = int(number)
        await asyncio.sleep(self._latencies[i])
        out: dict[str, str] = {}
        if self.validators:
            out = {"ETag": self.etag(i), "Last-Modified": self.last_modified(i)}
        if self.is_fresh(i, headers):
            self.stats.not_modified += 1
            return Response(304, out, b"")
        self.stats.ok += 1
        plain, packed = self.document(i)
        out["Content-Type"] = "application/rss+xml; charset=utf-8"
        if self.gzip and "gzip" in headers.get("accept-encoding", ""):
            out["Content-Encoding"] = "gzip"
            return Response(200, out, packed)
        return Response(200, out, plain)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: HTTP/1.1 keep-alive until the client closes or asks to."""
        self.stats.connections += 1
        self.stats.max_connections = max(self.stats.max_connections, self.stats.connections)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                method, path, version, headers = request
                self.stats.in_flight += 1
                self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
                try:
                    response = await self.respond(method, path, headers)
                    keep = version == "HTTP/1.1" and headers.get("connection") != "close"
                    data = response.encode(keep, head=method == "HEAD")
                    writer.write(data)
                    await writer.drain()
                    self.stats.bytes_sent += len(data)
                finally:
                    self.stats.in_flight -= 1
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self.stats.connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def serve(self, port: int = 0, hosts: int = 1) -> list[asyncio.Server]:
        """Listen on 127.0.0.1 and, with `hosts` > 1, on 127.0.0.2 … 127.0.0.<hosts> at the same
        port: Linux routes all of 127/8 to loopback, so a client sees `hosts` distinct hosts
        (and its per-host limits apply as they would across real sites)."""
        first = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=8192)
        port = first.sockets[0].getsockname()[1]
        servers = [first]
        for i in range(2, hosts + 1):
            servers.append(
                await asyncio.start_server(self.handle, f"127.0.0.{i}", port, backlog=8192)
            )
        return servers


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def encode(self, keep_alive: bool, head: bool = False) -> bytes:
        reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}.get(self.status, "OK")
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.status != 304:
            lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head_bytes if head or self.status == 304 else head_bytes + self.body


def _json(value: dict[str, Any]) -> Response:
    body = json.dumps(value, sort_keys=True).encode() + b"\n"
    return Response(200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, body)


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, str, dict[str, str]] | None:
    """Read one request head (and discard any body); None at a clean end of connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise ConnectionError("bad request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(length)
    return method, target.split("?", 1)[0], version, headers


# --- feed documents ------------------------------------------------------------------------


def render_feed(feed: int, version: int, entries: int) -> bytes:
    """RSS 2.0 of feed `feed` holding items version-entries+1 .. version, newest first. Pure."""
    items = [_render_item(feed, n) for n in range(version, max(0, version - entries), -1) if n > 0]
    newest = EPOCH + version * ITEM_SPACING
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0">\n<channel>\n'
        f"<title>Farm feed {feed}</title>\n"
        f"<link>http://farm.invalid/{feed}/</link>\n"
        f"<description>Synthetic negotiation news, feed {feed}</description>\n"
        "<language>en</language>\n"
        f"<lastBuildDate>{format_datetime(newest, usegmt=True)}</lastBuildDate>\n"
        + "".join(items)
        + "</channel>\n</rss>\n"
    )
    return doc.encode("utf-8")


def _render_item(feed: int, n: int) -> str:
    seed = int.from_bytes(hashlib.blake2b(f"{feed}:{n}".encode(), digest_size=8).digest(), "big")
    rng = random.Random(seed)
    vocabulary = _WORDS if rng.random() < TALKS_SHARE else _GENERAL_WORDS
    title = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(7, 13))).capitalize()
    sentences = []
    for _ in range(rng.randint(3, 5)):
        words = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(10, 18)))
        sentences.append(words.capitalize() + ".")
    summary = " ".join(sentences)
    published = format_datetime(EPOCH + n * ITEM_SPACING, usegmt=True)
    link = f"http://farm.invalid/{feed}/news/{n}"
    return (
        "<item>\n"
        f"<title>{escape(title)}</title>\n"
        f"<link>{link}</link>\n"
        f'<guid isPermaLink="false">farm-{feed}-{n}</guid>\n'
        f"<pubDate>{published}</pubDate>\n"
        f"<description>{escape(summary)}</description>\n"
        "</item>\n"
    )


# --- running it ----------------------------------------------------------------------------


def _spread(value: str) -> tuple[float, float]:
    lo, sep, hi = value.partition(":")
    try:
        low, high = float(lo), float(hi)
    except ValueError:
        raise argparse.ArgumentTypeError("expected LOW:HIGH seconds, e.g. 0.05:0.8") from None
    if not sep or low < 0 or high < low:
        raise argparse.ArgumentTypeError("expected LOW:HIGH seconds with 0 <= LOW <= HIGH")
    return low, high


def _rate(value: str) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError("change rate must be between 0 and 1")
    return rate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--feeds", type=int, default=100, help="number of feeds (default 100)")
    p.add_argument("--entries", type=int, default=30, help="items per feed (default 30)")
    p.add_argument("--latency", type=float, default=0.1, help="seconds before each answer")
    p.add_argument("--latency-spread", type=_spread, metavar="LOW:HIGH", help="per-feed latency")
    p.add_argument("--change-rate", type=_rate, default=0.0, help="feeds changed per /_advance")
    p.add_argument("--no-validators", dest="validators", action="store_false", help="no 304s")
    p.add_argument("--gzip", action="store_true", help="gzip bodies when the client accepts it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    p.add_argument("--hosts", type=int, default=1, help="serve on 127.0.0.1..127.0.0.N (max 250)")
    return p.parse_args(argv)


def _raise_fd_limit() -> None:
    # Thousands of keep-alive connections need more descriptors than the usual soft 1024.
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            target = 65536 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _main(args: argparse.Namespace) -> None:
    farm = Farm(
        feeds=args.feeds,
        entries=args.entries,
        latency=args.latency,
        latency_spread=args.latency_spread,
        change_rate=args.change_rate,
        validators=args.validators,
        gzip=args.gzip,
        seed=args.seed,
    )
    farm.warm()
    servers = await farm.serve(args.port, max(1, min(args.hosts, 250)))
    port = servers[0].sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> None:
    _raise_fd_limit()
    asyncio.run(_main(parse_args(argv)))


# --- helpers for benchmarks ----------------------------------------------------------------


def start_farm_subprocess(
    feeds: int,
    *,
    entries: int = 30,
    latency: float = 0.1,
    latency_spread: tuple[float, float] | None = None,
    change_rate: float = 0.0,
    validators: bool = True,
    gzip: bool = False,
    seed: int = 0,
    port: int = 0,
    hosts: int = 1,
    startup_timeout: float = 10.0,
) -> tuple[subprocess.Popen[str], str]:
    """Start the farm in its own process; return (process, "http://127.0.0.1:<port>").

    The caller stops it with `proc.terminate(); proc.wait()`. Feed i is at base_url +
    f"/feed/{i}.xml".
    """
    cmd = [sys.executable, __file__, "--feeds", str(feeds), "--entries", str(entries)]
    cmd += ["--latency", str(latency), "--change-rate", str(change_rate), "--seed", str(seed)]
    cmd += ["--port", str(port), "--hosts", str(hosts)]
    if latency_spread:
        cmd += ["--latency-spread", f"{latency_spread[0]}:{latency_spread[1]}"]
    if not validators:
        cmd.append("--no-validators")
    if gzip:
        cmd.append("--gzip")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = _readline_with_timeout(proc, startup_timeout)
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"feed farm did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def _readline_with_timeout(proc: subprocess.Popen[str], timeout: float) -> str:
    import threading

    assert proc.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not out:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"feed farm printed no port within {timeout}s")
    return out[0].strip()


def _call(base_url: str, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(base_url + path, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.load(response)
        return result


def farm_stats(base_url: str) -> dict[str, Any]:
    """The farm's counters (GET /_stats)."""
    return _call(base_url, "/_stats")


def farm_advance(base_url: str) -> dict[str, Any]:
    """Next generation (POST /_advance): {"generation": g, "changed": n}."""
    return _call(base_url, "/_advance", "POST")


def farm_reset(base_url: str) -> dict[str, Any]:
    """Zero the counters (POST /_reset)."""
    return _call(base_url, "/_reset", "POST")


if __name__ == "__main__":
    main()


def feed_url(base_url: str, i: int, hosts: int = 1) -> str:
    """The URL of feed `i`, spread round-robin over the farm's `hosts` loopback addresses."""
    port = base_url.rsplit(":", 1)[1]
    return f"http://127.0.0.{1 + i % max(1, hosts)}:{port}/feed/{i}.xml"
