"""Records that cross stage boundaries.

Frozen dataclasses only: stages never hand each other feedparser dicts, httpx responses or
database rows. "What the feed said" (`Entry`, `ParsedFeed`) is kept apart from "what we track
about it" (`FeedState`, `StoredEntry`).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedConfig:
    """One feed as the user wrote it in `feeds.yaml`."""

    url: str
    name: str
    lang: str | None = None
    enabled: bool = True
    full_text: bool = False  # fetch the article page when the feed carries only a teaser
    line: int = 0  # line in feeds.yaml, for messages


@dataclass(frozen=True)
class Settings:
    """The `settings:` section, with defaults filled in and paths resolved."""

    database: Path
    digests_dir: Path
    timezone: str = "Europe/Kyiv"
    poll_interval: timedelta = timedelta(minutes=30)
    digest_time: time = time(7, 0)
    concurrency: int = 64
    per_host_concurrency: int = 2
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_feed_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_backoff: timedelta = timedelta(hours=24)
    user_agent: str = ""  # filled by config with the monitor's name and version
    retention_days: int | None = None  # prune entries first seen longer ago; None keeps all
    notify: tuple[str, ...] = ()  # notification URLs told when a digest is written


@dataclass(frozen=True)
class Config:
    """Everything `feeds.yaml` says, checked."""

    path: Path
    settings: Settings
    feeds: tuple[FeedConfig, ...]
    # Extra analysis terms from the `analysis:` section (merged into the packaged lexicons).
    analysis: dict[str, object] = field(default_factory=dict)


# --- fetching ------------------------------------------------------------------------------


class FetchStatus(enum.Enum):
    """How one fetch ended."""

    OK = "ok"  # 200 with a body
    NOT_MODIFIED = "not_modified"  # 304: nothing new, cheap
    GONE = "gone"  # 410: stop polling
    ERROR = "error"  # anything else: recorded, backed off


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators stored for a feed and sent back on the next request."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What one fetch of one feed gave. Bytes and headers only, never a parsed feed."""

    url: str  # the URL requested (the configured one)
    status: FetchStatus
    final_url: str  # after redirects
    http_status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    validators: Validators = Validators()
    permanent_redirect: str | None = None  # target of a 301/308 chain, to show the user
    retry_after: datetime | None = None  # from 429/503 Retry-After, UTC
    error: str | None = None  # one line
    elapsed: float = 0.0


# --- parsing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One feed item as the feed said it, normalised to plain text and UTC."""

    id: str  # stable entry id (see parse.entry_key)
    feed_key: str  # the key within its feed: guid, else canonical link, else content hash
    url: str | None  # canonical link, tracking parameters removed
    title: str
    summary: str
    content: str
    published: datetime | None
    updated: datetime | None
    lang: str | None
    author: str = ""

    @property
    def text(self) -> str:
        """Title, summary and content joined, for analysis and hashing."""
        return "\n".join(p for p in (self.title, self.summary, self.content) if p)

    @property
    def fingerprint(self) -> str:
        """A hash of what the feed said; a change means the entry is updated in place."""
        parts = (
            self.url or "",
            self.title,
            self.summary,
            self.content,
            self.published.isoformat() if self.published else "",
            self.lang or "",
            self.author,
        )
        return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document: what could be recovered, and what went wrong (if anything)."""

    title: str
    link: str | None
    lang: str | None
    entries: tuple[Entry, ...]
    problem: str | None = None  # malformed document: one line, recorded on the feed


# --- analysis ------------------------------------------------------------------------------

ACTORS = ("russia", "ukraine", "us", "eu", "turkey", "other")
STANCES = ("demand", "concession", "rejection")
ISSUES = (
    "territory",
    "nato",
    "neutrality",
    "military_limits",
    "sanctions",
    "assets_reparations",
    "accountability",
    "ceasefire",
    "prisoners",
    "children",
    "security_guarantees",
    "elections_governance",
    "language_church",
    "nuclear_plant",
    "other",
)


@dataclass(frozen=True)
class Claim:
    """A demand, concession or rejection that an entry reports."""

    actor: str
    stance: str
    issue: str
    target: str | None
    detail: str
    evidence: str
    reasons: tuple[str, ...] = ()  # how it was found, for `monitor explain`

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes a claim the same claim in the novelty ledger."""
        return (self.actor, self.stance, self.issue, self.detail)


@dataclass(frozen=True)
class Analysis:
    """The analysis of one entry: relevance with its evidence, and the claims it reports."""

    relevant: bool
    score: float
    evidence: tuple[str, ...] = ()  # matched terms and rules
    claims: tuple[Claim, ...] = ()


# --- article pages (full text) -------------------------------------------------------------

PAGE_MAX_ATTEMPTS = 3  # fetches of one article page, in all, before it is given up


@dataclass(frozen=True)
class Page:
    """One article page as cached: what it gave, and how often it was tried."""

    url: str
    fetched: datetime  # the last attempt
    status: str  # ok (text extracted), empty (fetched, no article text), error
    text: str = ""
    error: str | None = None
    attempts: int = 1

    @property
    def settled(self) -> bool:
        """Never to be fetched again: it gave an answer, or retrying is pointless."""
        return self.status != "error" or self.attempts >= PAGE_MAX_ATTEMPTS


# --- what we track -------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    """What the monitor knows about a feed between runs."""

    url: str
    name: str
    lang: str | None = None
    title: str | None = None
    validators: Validators = Validators()
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    error_since: datetime | None = None
    consecutive_failures: int = 0
    next_attempt: datetime | None = None
    gone: bool = False
    redirected_to: str | None = None
    problem: str | None = None
    entries: int = 0


@dataclass(frozen=True)
class StoredClaim:
    """A claim as stored, with its place in the novelty ledger."""

    claim: Claim
    first_reported: datetime
    new: bool  # no entry first seen before this entry's day carried the same key


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored: what the feeds said plus what the monitor tracked and concluded."""

    entry: Entry
    feeds: tuple[str, ...]  # names of every feed that carried it
    first_seen: datetime
    relevant: bool
    score: float
    story: str | None
    claims: tuple[StoredClaim, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedOutcome:
    """What happened to one feed in one run, for logs, progress and the summary."""

    url: str
    name: str
    status: str  # ok, not_modified, gone, error, skipped
    new_entries: int = 0
    updated_entries: int = 0
    error: str | None = None
    problem: str | None = None
    permanent_redirect: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True)
class RunSummary:
    """A whole poll run."""

    outcomes: tuple[FeedOutcome, ...]
    started: datetime
    finished: datetime

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def new_entries(self) -> int:
        return sum(o.new_entries for o in self.outcomes)
