"""A real, programmable HTTP server on 127.0.0.1 for tests (no internet, no mocks of httpx).

    def test_something(feed_server):
        url = feed_server.add("/a.xml", body=b"<rss/>", etag='"v1"')
        ...                                   # fetch url
        feed_server.route("/a.xml").body = b"<rss>new</rss>"   # mutate later
        assert feed_server.requests_for("/a.xml")[0].headers["user-agent"] == ...

A route answers with its status, headers and body; it can wait before the headers (`delay`),
drip the body in chunks with sleeps (`drip`), gzip the body (`gzip`), lie about or omit
Content-Length, and answer 304 on its own when the request's If-None-Match matches its `etag`
or If-Modified-Since is not older than its `last_modified`. Every request is recorded (method,
path, lower-cased headers, Host) and the server tracks how many requests were in flight at
once, overall and per Host header, so tests can check concurrency limits on the wire.
"""

from __future__ import annotations

import gzip as gzip_module
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Route:
    """What one path answers. Mutable: tests change it between fetches."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets a 304
    last_modified: str | None = None  # sent as Last-Modified; If-Modified-Since >= it gets a 304
    delay: float = 0.0  # seconds to wait before sending the status line
    drip: tuple[int, float] | None = None  # (chunk size, seconds between chunks)
    gzip: bool = False  # gzip the body and send Content-Encoding: gzip
    # None: the true length; False: omit it and close the connection after the body;
    # an int: send that value whatever the body is.
    content_length: int | bool | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived on the wire."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


class FeedServer:
    """ThreadingHTTPServer on an ephemeral port of 127.0.0.1, running in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.connections = 0  # TCP connections accepted
        self.active = 0
        self.max_active = 0
        self._active_by_host: dict[str, int] = {}
        self.max_active_by_host: dict[str, int] = {}
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.feed_server = self
        self.host = "127.0.0.1"
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in delay/drip
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- routes ---------------------------------------------------------------------------

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of `path` on this server; `host="localhost"` gives a second host name."""
        return f"http://{host or self.host}:{self.port}{path}"

    def add(self, path: str, **route: Any) -> str:
        """Add or replace the route at `path` (keywords as in `Route`); return its URL."""
        with self._lock:
            self.routes[path] = Route(**route)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Add a route that redirects to `to` (a path or a full URL); return its URL."""
        return self.add(path, status=status, headers={"Location": to})

    def route(self, path: str) -> Route:
        """The route at `path`, to mutate in place."""
        return self.routes[path]

    # --- what arrived ---------------------------------------------------------------------

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_active = self.active
            self.max_active_by_host = dict(self._active_by_host)

    def _enter(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            n = self._active_by_host.get(request.host, 0) + 1
            self._active_by_host[request.host] = n
            self.max_active_by_host[request.host] = max(
                self.max_active_by_host.get(request.host, 0), n
            )

    def _leave(self, request: RecordedRequest) -> None:
        with self._lock:
            self.active -= 1
            self._active_by_host[request.host] -= 1

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; True when it is."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default queue of 5 drops bursts of connections (retried a second later),
    # which would make the client under test look slow.
    request_queue_size = 256
    feed_server: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up on purpose (size caps, timeouts); that is not a test failure.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.feed_server._lock:
            self.server.feed_server.connections += 1

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        server = self.server.feed_server
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        server._enter(request)
        try:
            self._respond(server, request)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            server._leave(request)

    def _respond(self, server: FeedServer, request: RecordedRequest) -> None:
        with server._lock:
            found = server.routes.get(request.path)
            route = Route(**vars(found)) if found else Route(status=404, body=b"not found")
        if server._sleep(route.delay):
            self.close_connection = True
            return
        status, body = route.status, route.body
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if status == 200 and _not_modified(route, request.headers):
            status, body = 304, b""
        if route.gzip and body:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        if status in (204, 304) or self.command == "HEAD":
            body = b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if route.content_length is False:
            self.send_header("Connection", "close")
            self.close_connection = True
        elif status not in (204, 304):
            length = (
                len(body)
                if route.content_length is None or route.content_length is True
                else route.content_length
            )
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.flush()
        if route.drip is None:
            self.wfile.write(body)
            return
        size, pause = route.drip
        for start in range(0, len(body), size):
            if server._sleep(pause):
                self.close_connection = True
                return
            self.wfile.write(body[start : start + size])
            self.wfile.flush()


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    """RFC 9110 §13.1: If-None-Match wins over If-Modified-Since; weak comparison for ETags."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if not route.etag:
            return False
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or route.etag.removeprefix("W/") in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since and route.last_modified:
        try:
            since = parsedate_to_datetime(if_modified_since)
            modified = parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started `FeedServer`, shut down after the test."""
    with FeedServer() as server:
        yield server
