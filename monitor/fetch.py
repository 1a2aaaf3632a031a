"""Fetch stage: polite, bounded HTTP GETs of feed documents. This module does network I/O.

`Fetcher.fetch` turns one URL plus the validators stored for it into a `FetchResult`: bytes and
lower-cased headers, never a parsed feed. It never raises for network or HTTP problems: those
become `FetchStatus.ERROR` with a one-line `error`, so one feed's failure never stops a run.

Politeness and bounds, all from `Settings`:

- conditional GET (If-None-Match / If-Modified-Since); a 304 is a normal, cheap result;
- at most `concurrency` requests in flight overall and `per_host_concurrency` per host;
- connect and read timeouts per socket operation, and a total timeout per fetch so that a host
  trickling one byte at a time cannot hold a run;
- a size cap on the *decoded* body, enforced while streaming (a gzip bomb is stopped after
  `max_feed_bytes`, never inflated whole);
- redirects followed by hand: http(s) only, loops detected, at most `max_redirects` hops.

`next_attempt` is the pure scheduling rule (poll interval, exponential backoff with jitter,
Retry-After) that the store and scheduler use to decide when a feed is due again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx

import monitor
from monitor.models import FetchResult, FetchStatus, Settings, Validators

__all__ = [
    "DEFAULT_USER_AGENT",
    "Fetcher",
    "describe_error",
    "next_attempt",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"talks-monitor/{monitor.__version__} (+https://github.com/talks-monitor)"

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)

ACCEPT_ENCODING = "gzip, deflate"

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_CODES = frozenset({301, 308})
RETRY_AFTER_CODES = frozenset({429, 503})

# A Retry-After beyond this is treated as this: it keeps datetime arithmetic in range, and the
# scheduler should not silence a feed for years because of one header.
MAX_RETRY_AFTER = timedelta(days=30)

_MAX_ERROR_CHARS = 300


class _Failure(Exception):
    """Internal: a fetch ended in an error; carries the one-line message and what is known."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


@dataclass
class _Hop:
    """What the last request of a redirect chain gave (mutable, internal)."""

    url: str
    http_status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Fetcher:
    """Shared HTTP client with global and per-host concurrency limits. Does network I/O.

    Use as an async context manager::

        async with Fetcher(settings) as fetcher:
            result = await fetcher.fetch(url, validators)

    `transport` replaces the network (tests of faults a real server cannot stage); `clock`
    returns the current UTC time, used only to turn a relative Retry-After into a datetime.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._clock: Callable[[], datetime] = clock or _utc_now
        self._global = asyncio.Semaphore(settings.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._client: httpx.AsyncClient | None = None
        self.user_agent = settings.user_agent or DEFAULT_USER_AGENT

    async def __aenter__(self) -> Fetcher:
        s = self._settings
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=s.connect_timeout,
                read=s.read_timeout,
                write=s.read_timeout,
                # Our semaphores keep requests within the pool size; waiting here is a bug.
                pool=s.connect_timeout,
            ),
            # Only what _Decoder can inflate within the cap, whatever httpx extras are installed.
            headers={
                "User-Agent": self.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            transport=self._transport or _PerHostTransport(s.per_host_concurrency),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client and its connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str, validators: Validators) -> FetchResult:
        """GET `url` conditionally, following redirects by hand. Does network I/O.

        In: the configured feed URL and the validators stored from its last successful fetch.
        Out: a `FetchResult`: OK (200, body, headers, new validators), NOT_MODIFIED (304; the
        old validators unless the 304 sent new ones), GONE (410) or ERROR (one-line `error`,
        `retry_after` for 429/503). `elapsed` counts from the moment the first request got its
        concurrency slots, so time spent queueing behind other feeds is not charged to this
        feed's total timeout. Raises only for bugs (and cancellation).
        """
        if self._client is None:
            raise RuntimeError("Fetcher used outside 'async with'")
        total = self._settings.total_timeout
        state = _Progress(url=url, total_timeout=total)
        try:
            # The deadline is armed by _request once the first hop holds its slots.
            async with asyncio.timeout(None) as deadline:
                state.deadline = deadline
                hop, permanent = await self._follow(url, validators, state)
        except TimeoutError:
            if state.deadline is None or not state.deadline.expired():
                raise
            return self._error(state, f"timeout after {total:g}s")
        except _Failure as failure:
            return self._error(state, failure.message, failure.http_status)
        except httpx.HTTPError as e:
            return self._error(state, describe_error(e, self._settings))
        except httpx.InvalidURL as e:
            return self._error(state, _one_line(f"invalid URL: {e}"))
        return self._result(hop, validators, permanent, state)

    # --- redirects -------------------------------------------------------------------------

    async def _follow(
        self, url: str, validators: Validators, state: _Progress
    ) -> tuple[_Hop, bool]:
        """Request `url`, following redirects; return the last hop and whether all were 301/308."""
        _check_scheme(url, first=True)
        seen = {url}
        all_permanent = True
        hops = 0
        while True:
            hop = await self._request(url, validators, state)
            if hop.http_status not in REDIRECT_CODES:
                return hop, hops > 0 and all_permanent
            location = hop.headers.get("location", "").strip()
            if not location:
                raise _Failure(f"HTTP {hop.http_status} without Location", hop.http_status)
            try:
                target = str(httpx.URL(url).join(location))
            except httpx.InvalidURL as e:
                raise _Failure(_one_line(f"redirect to invalid URL {location}: {e}")) from e
            _check_scheme(target, first=False)
            if target in seen:
                raise _Failure("redirect loop", hop.http_status)
            hops += 1
            if hops > self._settings.max_redirects:
                raise _Failure(f"too many redirects ({self._settings.max_redirects})")
            all_permanent = all_permanent and hop.http_status in PERMANENT_REDIRECT_CODES
            log.debug("redirect url=%s status=%d to=%s", url, hop.http_status, target)
            seen.add(target)
            url = target
            state.final_url = target

    # --- one request -----------------------------------------------------------------------

    async def _request(self, url: str, validators: Validators, state: _Progress) -> _Hop:
        """One GET within the host and global slots; reads the body only for a 200."""
        assert self._client is not None
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        host = httpx.URL(url).host.lower()
        # Per-host slot first: a queue of feeds on one busy host must not sit on global slots
        # that feeds on other hosts could use.
        async with self._host_slot(host), self._global:
            state.start()
            async with self._client.stream("GET", url, headers=headers) as response:
                hop = _Hop(
                    url=url,
                    http_status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                )
                log.debug("response url=%s status=%d", url, response.status_code)
                if response.status_code in (200, 203):
                    hop.body = await self._read_body(response, hop.headers)
                elif response.status_code == 304:
                    # A 304 has no body, but httpcore keeps the connection only for a response
                    # read to its end: unread, every unchanged feed cost a new connection.
                    await response.aread()
                return hop

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._per_host.get(host)
        if slot is None:
            slot = self._per_host[host] = asyncio.Semaphore(self._settings.per_host_concurrency)
        return slot

    async def _read_body(self, response: httpx.Response, headers: dict[str, str]) -> bytes:
        """Read and decode the body, stopping as soon as it passes the size cap."""
        cap = self._settings.max_feed_bytes
        too_large = f"body larger than {_format_size(cap)}"
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _Failure(too_large, response.status_code)
        # Decoding ourselves instead of using aiter_bytes(): httpx inflates each network chunk
        # whole, and 64 KB of gzip'd zeros is 64 MB. _Decoder never makes more than cap + 1.
        decoder = _Decoder.for_header(headers.get("content-encoding", ""))
        body = bytearray()
        received = 0
        async for raw in response.aiter_raw():
            received += len(raw)
            body += decoder.feed(raw, cap + 1 - len(body))
            if len(body) > cap or received > cap:
                raise _Failure(too_large, response.status_code)
        body += decoder.flush(cap + 1 - len(body))
        if len(body) > cap:
            raise _Failure(too_large, response.status_code)
        return bytes(body)

    # --- results ---------------------------------------------------------------------------

    def _result(self, hop: _Hop, old: Validators, permanent: bool, state: _Progress) -> FetchResult:
        code = hop.http_status
        base = FetchResult(
            url=state.url,
            status=FetchStatus.ERROR,
            final_url=hop.url,
            http_status=code,
            headers=hop.headers,
            permanent_redirect=hop.url if permanent else None,
            elapsed=state.elapsed(),
        )
        if code in (200, 203):
            new = Validators(hop.headers.get("etag"), hop.headers.get("last-modified"))
            return replace(base, status=FetchStatus.OK, body=hop.body, validators=new)
        if code == 304:
            kept = Validators(
                hop.headers.get("etag") or old.etag,
                hop.headers.get("last-modified") or old.last_modified,
            )
            return replace(base, status=FetchStatus.NOT_MODIFIED, validators=kept)
        if code == 410:
            return replace(base, status=FetchStatus.GONE, error=_http_error(code))
        retry_after = None
        if code in RETRY_AFTER_CODES:
            retry_after = parse_retry_after(hop.headers.get("retry-after"), self._clock())
        return replace(base, error=_http_error(code), retry_after=retry_after)

    def _error(self, state: _Progress, message: str, http_status: int | None = None) -> FetchResult:
        log.debug("fetch failed url=%s final_url=%s error=%s", state.url, state.final_url, message)
        return FetchResult(
            url=state.url,
            status=FetchStatus.ERROR,
            final_url=state.final_url,
            http_status=http_status,
            error=message,
            elapsed=state.elapsed(),
        )


class _PerHostTransport(httpx.AsyncBaseTransport):
    """One small connection pool per origin (scheme, host, port) instead of one big pool.

    httpcore's pool scans every connection it holds (a poll() system call each, to see whether
    it expired) on every request and every response it closes: with 100 connections to 50 hosts
    that scan was a fifth of a 300-feed poll's time in this process. Per origin, a pool holds at
    most `per_host_concurrency` connections, and the fetcher's per-host semaphore never asks for
    more. The TLS context (loading the CA bundle takes tens of milliseconds) is made once, when
    the first https origin appears, and shared.
    """

    def __init__(self, per_host: int) -> None:
        self._limits = httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host)
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}
        self._tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = httpx.AsyncHTTPTransport(
                verify=self._context(url.scheme), limits=self._limits
            )
        return await pool.handle_async_request(request)

    def _context(self, scheme: str) -> ssl.SSLContext:
        if scheme != "https":
            # Never used by a plain-http pool; verifying and empty, so it would fail closed.
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


@dataclass
class _Progress:
    """Where a fetch has got to: for error results and the total-timeout clock (internal)."""

    url: str
    final_url: str = ""
    deadline: asyncio.Timeout | None = None
    started: float | None = None
    total_timeout: float = 0.0

    def __post_init__(self) -> None:
        self.final_url = self.final_url or self.url

    def start(self) -> None:
        """Arm the total timeout the first time a request holds its slots."""
        if self.started is not None:
            return
        self.started = time.monotonic()
        if self.deadline is not None:
            loop_now = asyncio.get_running_loop().time()
            self.deadline.reschedule(loop_now + self.total_timeout)

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


# --- decoding ------------------------------------------------------------------------------


class _Decoder:
    """Content-Encoding decoder (identity, gzip, deflate) whose output per call is bounded."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._inflater = self._new_inflater()
        self._first = True
        self._done = False

    @classmethod
    def for_header(cls, value: str) -> _Decoder:
        codings = [c.strip().lower() for c in value.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return cls("identity")
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            return cls("deflate" if codings[0] == "deflate" else "gzip")
        raise _Failure(_one_line(f"unsupported Content-Encoding {value}"))

    def _new_inflater(self, raw_deflate: bool = False) -> zlib._Decompress:
        if self._coding == "gzip":
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`, returning at most `limit` (> 0) bytes; more input is then moot."""
        if self._coding == "identity":
            return data[:limit]
        out = bytearray()
        try:
            while data and not self._done and len(out) < limit:
                try:
                    out += self._inflater.decompress(data, limit - len(out))
                except zlib.error:
                    # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
                    if not (self._first and self._coding == "deflate"):
                        raise
                    self._inflater = self._new_inflater(raw_deflate=True)
                    out += self._inflater.decompress(data, limit - len(out))
                self._first = False
                if self._inflater.eof:
                    data = self._inflater.unused_data
                    # A gzip body may hold several members; anything else after the end is junk.
                    if self._coding == "gzip" and data.startswith(b"\x1f\x8b"):
                        self._inflater = self._new_inflater()
                    else:
                        self._done = True
                else:
                    data = self._inflater.unconsumed_tail
        except zlib.error as e:
            raise _Failure(_one_line(f"cannot decode {self._coding} body: {e}")) from e
        return bytes(out)

    def flush(self, limit: int) -> bytes:
        if self._coding == "identity" or self._done or limit <= 0:
            return b""
        try:
            return self._inflater.flush()[:limit]
        except zlib.error as e:
            raise _Failure(_one_line(f"cannot decode {self._coding} body: {e}")) from e


# --- errors --------------------------------------------------------------------------------


def describe_error(error: httpx.HTTPError, settings: Settings) -> str:
    """Translate an httpx exception into the one-line message stored on the feed. Pure.

    This is the only place where httpx's exception tree meets the monitor's vocabulary.
    """
    if isinstance(error, httpx.ConnectTimeout):
        return f"connect timeout after {settings.connect_timeout:g}s"
    if isinstance(error, httpx.ReadTimeout):
        return f"read timeout after {settings.read_timeout:g}s"
    if isinstance(error, httpx.WriteTimeout):
        return f"write timeout after {settings.read_timeout:g}s"
    if isinstance(error, httpx.PoolTimeout):
        return f"no free connection after {settings.connect_timeout:g}s"
    if isinstance(error, httpx.ConnectError):
        return _describe_connect_error(error)
    if isinstance(error, httpx.RemoteProtocolError):
        return _one_line(f"protocol error: {error}")
    if isinstance(error, httpx.ReadError):
        return _one_line(f"connection lost while reading: {str(error) or 'reset by peer'}")
    if isinstance(error, httpx.UnsupportedProtocol):
        return _one_line(f"unsupported URL: {error}")
    if isinstance(error, httpx.DecodingError):
        return _one_line(f"cannot decode body: {error}")
    return _one_line(f"{type(error).__name__}: {error}")


def _describe_connect_error(error: httpx.ConnectError) -> str:
    text = str(error)
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in chain) or "refused" in text.lower():
        return "connection refused"
    lowered = " ".join(str(c) for c in chain).lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "cannot resolve host name"
    if "temporary failure in name resolution" in lowered or "getaddrinfo" in lowered:
        return "cannot resolve host name"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return _one_line(f"TLS error: {text}")
    return _one_line(f"cannot connect: {text or type(error).__name__}")


def _check_scheme(url: str, *, first: bool) -> None:
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme in ("http", "https"):
        return
    if first:
        raise _Failure(_one_line(f"not an http(s) URL: {url}"))
    raise _Failure(_one_line(f"redirect to non-http(s) URL {url}"))


def _http_error(code: int) -> str:
    phrase = httpx.codes.get_reason_phrase(code)
    return f"HTTP {code} {phrase}" if phrase else f"HTTP {code}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 1] + "…"


def _format_size(n: int) -> str:
    mb, kb = 1024 * 1024, 1024
    if n >= mb and n % mb == 0:
        return f"{n // mb} MB"
    if n >= kb and n % kb == 0:
        return f"{n // kb} KB"
    return f"{n} bytes"


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- scheduling ----------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Turn a Retry-After header (delay in seconds, or an HTTP date) into a UTC datetime. Pure.

    Returns None when the header is absent or unreadable. Delays are capped at
    `MAX_RETRY_AFTER`; a date in the past is returned as is (it simply does not delay).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return now + min(timedelta(seconds=int(value)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return min(when.astimezone(UTC), now + MAX_RETRY_AFTER)


def next_attempt(
    now: datetime,
    failures: int,
    poll_interval: timedelta,
    max_backoff: timedelta,
    retry_after: datetime | None,
    rng: random.Random,
) -> datetime:
    """When to fetch a feed next. Pure: the clock and the randomness are arguments.

    In: `now`; `failures`, the consecutive failures *including* the attempt just made (0 after a
    success or a 304); the configured `poll_interval` and `max_backoff`; the server's
    `retry_after`, if it sent one; `rng` for the jitter (pass a seeded one in tests).

    Out: `now + poll_interval` when `failures == 0`. Otherwise exponential backoff:
    `poll_interval * 2 ** (failures - 1)`, multiplied by a jitter factor in [0.8, 1.2] so that
    feeds which failed together (one host down) do not retry in lock-step, then capped at
    `max_backoff` (a hard ceiling: a feed failing for days is still tried at least that
    often). In every case the result is never earlier than `retry_after`.
    """
    if failures < 0:
        raise ValueError(f"failures must be >= 0, got {failures}")
    if failures == 0:
        delay = poll_interval
    else:
        # Float seconds with a bounded exponent: timedelta * 2**n overflows for large n.
        base = poll_interval.total_seconds() * 2.0 ** min(failures - 1, 64)
        jittered = base * rng.uniform(0.8, 1.2)
        delay = timedelta(seconds=min(jittered, max_backoff.total_seconds()))
    when = now + delay
    if retry_after is not None and retry_after > when:
        return retry_after
    return when
