"""Tests of monitor.fetch against a real HTTP server on 127.0.0.1 (tests/feedserver.py).

Timeouts in these tests are small so that the whole file stays fast; each timing assertion
leaves a wide margin so that a loaded CI machine does not make it flaky.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import socket
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import monitor
from monitor.fetch import DEFAULT_USER_AGENT, Fetcher, describe_error, next_attempt
from monitor.models import FetchResult, FetchStatus, Settings, Validators
from tests.feedserver import FeedServer, feed_server

__all__ = ["feed_server"]  # the fixture, imported so that this file also runs on its own

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database": Path("unused.db"),
        "digests_dir": Path("unused"),
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
        "concurrency": 8,
        "per_host_concurrency": 4,
    }
    values.update(overrides)
    return Settings(**values)


def fetch(
    url: str,
    validators: Validators | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **settings: Any,
) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(make_settings(**settings), transport=transport, clock=lambda: NOW) as f:
            return await f.fetch(url, validators or Validators())

    return asyncio.run(go())


def fetch_many(urls: list[str], **settings: Any) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(make_settings(**settings), clock=lambda: NOW) as f:
            return list(await asyncio.gather(*(f.fetch(u, Validators()) for u in urls)))

    return asyncio.run(go())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- success and conditional GET ----------------------------------------------------------


def test_200_returns_body_headers_and_validators(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/a.xml",
        body=RSS,
        headers={"Content-Type": "application/rss+xml", "X-Custom": "yes"},
        etag='"v1"',
        last_modified="Mon, 02 Jun 2025 09:00:00 GMT",
    )
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.http_status == 200
    assert result.body == RSS
    assert result.url == result.final_url == url
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["x-custom"] == "yes"
    assert all(k == k.lower() for k in result.headers)
    assert result.validators == Validators('"v1"', "Mon, 02 Jun 2025 09:00:00 GMT")
    assert result.error is None and result.permanent_redirect is None
    assert 0 < result.elapsed < 2
    # No validators stored yet: nothing conditional may be sent.
    sent = feed_server.requests_for("/a.xml")[0].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_200_without_validators_clears_them(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", body=RSS)
    result = fetch(url, Validators('"old"', "Sun, 01 Jun 2025 00:00:00 GMT"))
    assert result.status is FetchStatus.OK
    assert result.validators == Validators()


def test_304_sends_both_validators_on_the_wire_and_keeps_them(feed_server: FeedServer) -> None:
    lm = "Mon, 02 Jun 2025 09:00:00 GMT"
    url = feed_server.add("/a.xml", body=RSS, etag='"v1"', last_modified=lm)
    first = fetch(url)
    second = fetch(url, first.validators)
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.http_status == 304
    assert second.body == b""
    assert second.validators == first.validators
    sent = feed_server.requests_for("/a.xml")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == lm


def test_304s_and_200s_keep_their_connection_alive(feed_server: FeedServer) -> None:
    # An unchanged poll is all 304s: each used to cost a new connection (httpcore keeps a
    # connection only for a response read to its end, and a 304's empty body went unread).
    urls = [feed_server.add(f"/{i}.xml", body=RSS, etag=f'"v{i}"') for i in range(6)]
    validators = [Validators(f'"v{i}"', None) for i in range(3)] + [Validators()] * 3

    async def go() -> list[FetchResult]:
        async with Fetcher(make_settings(per_host_concurrency=1), clock=lambda: NOW) as f:
            return [await f.fetch(u, v) for u, v in zip(urls, validators, strict=True)]

    results = asyncio.run(go())
    assert [r.status for r in results] == [FetchStatus.NOT_MODIFIED] * 3 + [FetchStatus.OK] * 3
    assert feed_server.connections == 1


def test_304_keeps_old_validators_when_it_sends_none(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", status=304)
    old = Validators('"v1"', "Mon, 02 Jun 2025 09:00:00 GMT")
    result = fetch(url, old)
    assert result.status is FetchStatus.NOT_MODIFIED
    assert result.validators == old


def test_304_with_new_etag_replaces_only_the_etag(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", status=304, headers={"ETag": '"v2"'})
    result = fetch(url, Validators('"v1"', "Mon, 02 Jun 2025 09:00:00 GMT"))
    assert result.validators == Validators('"v2"', "Mon, 02 Jun 2025 09:00:00 GMT")


def test_changed_feed_after_304_returns_new_body(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", body=b"one", etag='"v1"')
    first = fetch(url)
    assert fetch(url, first.validators).status is FetchStatus.NOT_MODIFIED
    route = feed_server.route("/a.xml")
    route.body, route.etag = b"two", '"v2"'
    third = fetch(url, first.validators)
    assert (third.status, third.body, third.validators.etag) == (FetchStatus.OK, b"two", '"v2"')


def test_user_agent_default_and_configured(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", body=RSS)
    fetch(url)
    fetch(url, user_agent="custom-agent/1.0")
    sent = [r.headers["user-agent"] for r in feed_server.requests_for("/a.xml")]
    assert sent == [DEFAULT_USER_AGENT, "custom-agent/1.0"]
    assert DEFAULT_USER_AGENT.startswith(f"talks-monitor/{monitor.__version__} (+https://")


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    body = RSS * 200
    url = feed_server.add("/a.xml", body=body, gzip=True)
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.body == body
    assert result.headers["content-encoding"] == "gzip"
    assert feed_server.requests_for("/a.xml")[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded_zlib_wrapped_or_raw(feed_server: FeedServer, wbits: int) -> None:
    body = RSS * 50
    packer = zlib.compressobj(wbits=wbits)
    url = feed_server.add(
        "/a.xml",
        body=packer.compress(body) + packer.flush(),
        headers={"Content-Encoding": "deflate"},
    )
    assert fetch(url).body == body


def test_multi_member_gzip_is_decoded_whole(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/a.xml",
        body=gzip.compress(b"<rss>") + gzip.compress(b"</rss>"),
        headers={"Content-Encoding": "gzip"},
    )
    assert fetch(url).body == b"<rss></rss>"


def test_corrupt_gzip_is_an_error(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith("cannot decode gzip body")


def test_unsupported_content_encoding_is_an_error(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", body=b"xx", headers={"Content-Encoding": "br"})
    assert fetch(url).error == "unsupported Content-Encoding br"


# --- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "permanent"), [(301, True), (308, True), (302, False), (303, False), (307, False)]
)
def test_redirect_followed_and_permanence_recorded(
    feed_server: FeedServer, code: int, permanent: bool
) -> None:
    target = feed_server.add("/new.xml", body=RSS)
    url = feed_server.redirect("/old.xml", "/new.xml", status=code)  # relative Location
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.body == RSS
    assert result.url == url
    assert result.final_url == target
    assert result.permanent_redirect == (target if permanent else None)


def test_permanent_chain_records_final_url(feed_server: FeedServer) -> None:
    final = feed_server.add("/c.xml", body=RSS)
    feed_server.redirect("/b.xml", final, status=308)  # absolute Location
    url = feed_server.redirect("/a.xml", "/b.xml", status=301)
    assert fetch(url).permanent_redirect == final


def test_mixed_chain_is_not_permanent(feed_server: FeedServer) -> None:
    final = feed_server.add("/c.xml", body=RSS)
    feed_server.redirect("/b.xml", "/c.xml", status=302)
    url = feed_server.redirect("/a.xml", "/b.xml", status=301)
    result = fetch(url)
    assert result.final_url == final
    assert result.permanent_redirect is None


def test_conditional_headers_reach_the_redirect_target(feed_server: FeedServer) -> None:
    feed_server.add("/new.xml", body=RSS, etag='"v1"')
    url = feed_server.redirect("/old.xml", "/new.xml")
    result = fetch(url, Validators(etag='"v1"'))
    assert result.status is FetchStatus.NOT_MODIFIED
    assert feed_server.requests_for("/new.xml")[0].headers["if-none-match"] == '"v1"'


def test_redirect_loop(feed_server: FeedServer) -> None:
    feed_server.redirect("/b.xml", "/a.xml", status=302)
    url = feed_server.redirect("/a.xml", "/b.xml", status=302)
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert result.error == "redirect loop"
    assert len(feed_server.requests) == 2  # stopped at the first repeat, not at max_redirects


def test_redirect_to_non_http_scheme(feed_server: FeedServer) -> None:
    url = feed_server.redirect("/a.xml", "ftp://example.org/feed.xml")
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert result.error == "redirect to non-http(s) URL ftp://example.org/feed.xml"


def test_redirect_without_location(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", status=302)
    assert fetch(url).error == "HTTP 302 without Location"


def _chain(server: FeedServer, hops: int) -> str:
    server.add(f"/r{hops}.xml", body=RSS)
    for i in range(hops):
        server.redirect(f"/r{i}.xml", f"/r{i + 1}.xml", status=302)
    return server.url("/r0.xml")


def test_max_redirects_reached_exactly_is_fine(feed_server: FeedServer) -> None:
    assert fetch(_chain(feed_server, 3), max_redirects=3).status is FetchStatus.OK


def test_too_many_redirects(feed_server: FeedServer) -> None:
    result = fetch(_chain(feed_server, 4), max_redirects=3)
    assert result.status is FetchStatus.ERROR
    assert result.error == "too many redirects (3)"
    assert len(feed_server.requests) == 4  # the fourth redirect target is never requested


# --- HTTP errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (404, FetchStatus.ERROR, "HTTP 404 Not Found"),
        (500, FetchStatus.ERROR, "HTTP 500 Internal Server Error"),
        (403, FetchStatus.ERROR, "HTTP 403 Forbidden"),
        (410, FetchStatus.GONE, "HTTP 410 Gone"),
    ],
)
def test_http_error_statuses(
    feed_server: FeedServer, code: int, status: FetchStatus, error: str
) -> None:
    url = feed_server.add("/a.xml", status=code, body=b"<html>error page</html>")
    result = fetch(url)
    assert result.status is status
    assert result.http_status == code
    assert result.error == error
    assert result.body == b""  # an error page is never handed to the parser
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("code", "header", "expected"),
    [
        (429, "120", NOW + timedelta(seconds=120)),
        (503, "Mon, 02 Jun 2025 10:05:00 GMT", datetime(2025, 6, 2, 10, 5, tzinfo=UTC)),
        (429, "Mon, 02 Jun 2025 13:05:00 +0300", datetime(2025, 6, 2, 10, 5, tzinfo=UTC)),
        (503, "soon", None),
        (503, None, None),
        (429, "999999999999", NOW + timedelta(days=30)),  # capped, no overflow
    ],
)
def test_retry_after(
    feed_server: FeedServer, code: int, header: str | None, expected: datetime | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    url = feed_server.add("/a.xml", status=code, headers=headers)
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith(f"HTTP {code} ")
    assert result.retry_after == expected
    if expected is not None:
        assert expected.tzinfo is not None and expected.utcoffset() == timedelta(0)


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert result.error == "connection refused"
    assert result.http_status is None


def test_non_http_configured_url_is_an_error_not_an_exception() -> None:
    assert fetch("file:///etc/passwd").error == "not an http(s) URL: file:///etc/passwd"


# --- time and size bounds -----------------------------------------------------------------


def test_read_timeout_when_headers_come_too_late(feed_server: FeedServer) -> None:
    url = feed_server.add("/slow.xml", body=RSS, delay=3.0)
    result = fetch(url, read_timeout=0.3, total_timeout=5.0)
    assert result.status is FetchStatus.ERROR
    assert result.error == "read timeout after 0.3s"
    assert 0.25 < result.elapsed < 1.5


def test_total_timeout_stops_a_slow_drip(feed_server: FeedServer) -> None:
    # 40 chunks, 0.1 s apart: each read is well within read_timeout, the whole takes 4 s.
    url = feed_server.add("/drip.xml", body=b"x" * 400, drip=(10, 0.1))
    result = fetch(url, read_timeout=1.0, total_timeout=0.8)
    assert result.status is FetchStatus.ERROR
    assert result.error == "timeout after 0.8s"
    assert 0.75 < result.elapsed < 1.5


def test_drip_within_total_timeout_succeeds(feed_server: FeedServer) -> None:
    # The counterpart of the test above: dripping alone is not an error.
    url = feed_server.add("/drip.xml", body=b"x" * 50, drip=(10, 0.05))
    result = fetch(url, read_timeout=1.0, total_timeout=3.0)
    assert (result.status, result.body) == (FetchStatus.OK, b"x" * 50)


def test_queueing_for_a_slot_does_not_count_against_total_timeout(
    feed_server: FeedServer,
) -> None:
    # One slot: the second fetch waits ~0.5 s, then needs ~0.5 s itself; its total is 0.8 s.
    urls = [feed_server.add(f"/{i}.xml", body=RSS, delay=0.5) for i in range(2)]
    results = fetch_many(urls, concurrency=1, per_host_concurrency=1, total_timeout=0.8)
    assert [r.status for r in results] == [FetchStatus.OK, FetchStatus.OK]
    assert all(r.elapsed < 0.8 for r in results)


def test_oversized_body_without_content_length(feed_server: FeedServer) -> None:
    url = feed_server.add("/big.xml", body=b"x" * 3000, content_length=False)
    result = fetch(url, max_feed_bytes=1000)
    assert result.status is FetchStatus.ERROR
    assert result.error == "body larger than 1000 bytes"
    assert result.body == b""


def test_body_exactly_at_the_cap_is_accepted(feed_server: FeedServer) -> None:
    url = feed_server.add("/a.xml", body=b"x" * 1024, content_length=False)
    assert fetch(url, max_feed_bytes=1024).body == b"x" * 1024


def test_oversized_content_length_is_refused_before_reading(feed_server: FeedServer) -> None:
    # The header claims 50 MB and the body drips slowly: reading it would take seconds.
    url = feed_server.add("/big.xml", body=b"x" * 20, content_length=50_000_000, drip=(1, 0.5))
    result = fetch(url)  # default cap: 10 MB
    assert result.error == "body larger than 10 MB"
    assert result.elapsed < 0.5


def test_gzip_bomb_is_stopped_without_inflating_it(feed_server: FeedServer) -> None:
    packer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(packer.compress(zeros) for _ in range(200)) + packer.flush()  # 200 MB
    assert len(bomb) < 300_000
    url = feed_server.add("/bomb.xml", body=bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        result = fetch(url, max_feed_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status is FetchStatus.ERROR
    assert result.error == "body larger than 1 MB"
    assert peak < 20 * 1024 * 1024  # the cap plus buffers, nowhere near 200 MB


# --- concurrency --------------------------------------------------------------------------


def test_global_concurrency_limit(feed_server: FeedServer) -> None:
    urls = [feed_server.add(f"/{i}.xml", body=RSS, delay=0.2) for i in range(9)]
    results = fetch_many(urls, concurrency=3, per_host_concurrency=10)
    assert all(r.status is FetchStatus.OK for r in results)
    assert feed_server.max_active == 3  # never more, and the slots were actually used


def test_per_host_concurrency_limit(feed_server: FeedServer) -> None:
    urls = []
    for i in range(6):
        feed_server.add(f"/{i}.xml", body=RSS, delay=0.2)
        urls += [feed_server.url(f"/{i}.xml"), feed_server.url(f"/{i}.xml", host="localhost")]
    results = fetch_many(urls, concurrency=10, per_host_concurrency=2)
    assert all(r.status is FetchStatus.OK for r in results)
    by_host = feed_server.max_active_by_host
    assert by_host == {f"127.0.0.1:{feed_server.port}": 2, f"localhost:{feed_server.port}": 2}
    assert feed_server.max_active == 4  # the two hosts ran side by side


# --- faults a real server cannot stage ----------------------------------------------------


def _raising(exc: Callable[[httpx.Request], Exception]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc(request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (lambda r: httpx.ConnectTimeout("timed out", request=r), "connect timeout after 2s"),
        (lambda r: httpx.PoolTimeout("", request=r), "no free connection after 2s"),
        (lambda r: httpx.WriteTimeout("", request=r), "write timeout after 2s"),
        (
            lambda r: httpx.ConnectError("[Errno -2] Name or service not known", request=r),
            "cannot resolve host name",
        ),
        (
            lambda r: httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] bad", request=r),
            "TLS error: [SSL: CERTIFICATE_VERIFY_FAILED] bad",
        ),
        (
            lambda r: httpx.RemoteProtocolError("Server disconnected\nsuddenly", request=r),
            "protocol error: Server disconnected suddenly",
        ),
        (lambda r: httpx.ReadError("", request=r), "connection lost while reading: reset by peer"),
    ],
)
def test_transport_errors_become_one_line(
    exc: Callable[[httpx.Request], Exception], message: str
) -> None:
    result = fetch("http://feeds.example/a.xml", transport=_raising(exc))
    assert result.status is FetchStatus.ERROR
    assert result.error == message
    assert "\n" not in result.error


def test_describe_error_falls_back_to_the_exception_name() -> None:
    error = httpx.LocalProtocolError("bad\nthing")
    assert describe_error(error, make_settings()) == "LocalProtocolError: bad thing"


def test_fetch_outside_context_is_a_bug() -> None:
    fetcher = Fetcher(make_settings())
    with pytest.raises(RuntimeError):
        asyncio.run(fetcher.fetch("http://127.0.0.1/", Validators()))


# --- next_attempt -------------------------------------------------------------------------

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("failures", "retry_after", "low", "high"),
    [
        (0, None, HOUR, HOUR),  # success: exactly one poll interval, no jitter
        (1, None, 0.8 * HOUR, 1.2 * HOUR),
        (2, None, 1.6 * HOUR, 2.4 * HOUR),
        (3, None, 3.2 * HOUR, 4.8 * HOUR),
        (5, None, 12.8 * HOUR, 19.2 * HOUR),
        (6, None, DAY, DAY),  # 32 h x [0.8, 1.2] is always past the cap
        (10, None, DAY, DAY),  # far past the cap: exactly max_backoff
        (10_000, None, DAY, DAY),  # huge exponent: no overflow
        (0, NOW + 3 * HOUR, 3 * HOUR, 3 * HOUR),  # Retry-After beats the poll interval
        (1, NOW + 5 * HOUR, 5 * HOUR, 5 * HOUR),
        (1, NOW + 10 * timedelta(minutes=1), 0.8 * HOUR, 1.2 * HOUR),  # earlier: ignored
        (10, NOW + 2 * DAY, 2 * DAY, 2 * DAY),  # Retry-After wins even over max_backoff
        (1, NOW - HOUR, 0.8 * HOUR, 1.2 * HOUR),  # in the past: ignored
    ],
)
def test_next_attempt(
    failures: int, retry_after: datetime | None, low: timedelta, high: timedelta
) -> None:
    for seed in range(50):
        when = next_attempt(NOW, failures, HOUR, DAY, retry_after, random.Random(seed))
        assert NOW + low <= when <= NOW + high, (seed, when - NOW)


def test_next_attempt_jitter_spreads_feeds() -> None:
    rng = random.Random(1)
    times = {next_attempt(NOW, 3, HOUR, DAY, None, rng) for _ in range(20)}
    assert len(times) == 20
    spread = max(times) - min(times)
    assert spread > 0.5 * HOUR  # the range is 1.6 h wide; 20 draws cover much of it


def test_next_attempt_is_deterministic_for_a_seed() -> None:
    a = next_attempt(NOW, 4, HOUR, DAY, None, random.Random(7))
    b = next_attempt(NOW, 4, HOUR, DAY, None, random.Random(7))
    assert a == b


def test_next_attempt_rejects_negative_failures() -> None:
    with pytest.raises(ValueError, match="failures"):
        next_attempt(NOW, -1, HOUR, DAY, None, random.Random(0))
