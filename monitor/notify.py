"""Notifications when a digest is written, through apprise (email, Matrix, Slack, ntfy, ...).

`digest_message` (pure) turns a `DigestDay` into a title and a plain-text body: the digest's
summary line and the newly reported positions. `notify_digest` sends it to every URL in
`settings.notify` and returns one line per failure; it never raises for a failed notification,
so a broken mail server can never cost a digest. apprise is optional (`talks-monitor[notify]`).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.digest import DigestDay, plain_text, safe_url
from monitor.models import Settings, StoredClaim, StoredEntry

__all__ = ["MAX_POSITIONS", "check_notify_urls", "digest_message", "notify_digest"]

log = logging.getLogger(__name__)

MAX_POSITIONS = 10  # a notification is a nudge to read the digest, not the digest
_EVIDENCE = 300
_FIELD = 100
_INSTALL = "notifications need apprise: pip install 'talks-monitor[notify]'"


# --- the message (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class _NewPosition:
    claim: StoredClaim
    sources: tuple[tuple[str, str | None], ...]


def digest_message(day: DigestDay, digest_path: Path | None = None) -> tuple[str, str]:
    """(title, body) announcing the digest of `day`. Pure.

    The body is plain text: the summary line, then up to MAX_POSITIONS newly reported
    positions (actor, stance, issue, detail, evidence, first source), then the digest's path.
    Feed text is cleaned of controls and of link and mention syntax (`[..](..)`, `<..>`), since
    some services render a plain-text body as Markdown.
    """
    new = _new_positions(day)
    stories = {e.story or f"entry:{e.entry.id}" for e in day.entries}
    sources = {name for e in day.entries for name, _ in _sources(day, e)}
    failing = [f for f in day.feeds if f.gone or f.consecutive_failures > 0]
    summary = (
        f"{_n(len(day.entries), 'relevant report')} (of {max(day.total_seen, len(day.entries))}"
        f" seen) · {_n(len(sources), 'source')} · {_n(len(stories), 'story', 'stories')}"
        f" · {_n(len(new), 'newly reported position')} · {_n(len(failing), 'failing feed')}."
    )
    lines = [summary]
    if new:
        lines += ["", "Newly reported demands and concessions:"]
        zone = ZoneInfo(day.timezone)
        for p in new[:MAX_POSITIONS]:
            c = p.claim.claim
            target = f" → {_clean(c.target, _FIELD)}" if c.target else ""
            detail = f": {_clean(c.detail, _FIELD)}" if c.detail else ""
            when = p.claim.first_reported.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            name, url = p.sources[0] if p.sources else ("(unknown feed)", None)
            link = safe_url(url)
            lines += [
                f"- NEW {_clean(c.actor, _FIELD)} {_clean(c.stance, _FIELD)}"
                f" · {_clean(c.issue, _FIELD)}{target}{detail}",
                f"  “{_clean(c.evidence, _EVIDENCE)}”",
                f"  first seen {when} · {_clean(name, _FIELD)}" + (f" {link}" if link else ""),
            ]
        if len(new) > MAX_POSITIONS:
            lines.append(f"… and {len(new) - MAX_POSITIONS} more in the digest.")
    if failing:
        names = ", ".join(_clean(f.name, _FIELD) for f in failing[:5])
        lines += ["", f"Failing feeds: {names}" + (" …" if len(failing) > 5 else "")]
    if digest_path is not None:
        lines += ["", f"Digest: {digest_path}"]
    title = f"Talks monitor {day.day.isoformat()}: " + (
        _n(len(new), "newly reported position") if new else "no newly reported positions"
    )
    return title, "\n".join(lines)


def _new_positions(day: DigestDay) -> list[_NewPosition]:
    """One per claim key flagged new, the earliest report first (as the digest orders them)."""
    first: dict[tuple[str, str, str, str], tuple[StoredClaim, StoredEntry]] = {}
    for e in day.entries:
        for sc in e.claims:
            if not sc.new:
                continue
            known = first.get(sc.claim.key)
            if known is None or (_utc(sc.first_reported), e.entry.id) < (
                _utc(known[0].first_reported),
                known[1].entry.id,
            ):
                first[sc.claim.key] = (sc, e)
    ordered = sorted(first.values(), key=lambda p: (_utc(p[0].first_reported), p[0].claim.key))
    return [_NewPosition(sc, _sources(day, e)) for sc, e in ordered]


def _sources(day: DigestDay, e: StoredEntry) -> tuple[tuple[str, str | None], ...]:
    given = day.sources.get(e.entry.id)
    return tuple(given) if given else tuple((f, e.entry.url) for f in e.feeds)


def _clean(text: str, limit: int) -> str:
    text = plain_text(text, limit)
    return text.replace("](", "] (").replace("<", "‹").replace(">", "›")


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- sending (network I/O) -----------------------------------------------------------------


def notify_digest(settings: Settings, day: DigestDay, digest_path: Path) -> list[str]:
    """Send the digest's summary and new positions to each URL in `settings.notify`.

    Does network I/O (through apprise, with its own timeouts). Returns one line per failed
    URL, its credentials masked; an empty list when all went out (or none is configured).
    Never raises for a failed notification.
    """
    if not settings.notify:
        return []
    apprise = _apprise()
    if apprise is None:
        return [_INSTALL]
    title, body = digest_message(day, digest_path)
    errors = []
    for number, url in enumerate(settings.notify, 1):
        error = _send(apprise, url, title, body, _label(number, url))
        if error:
            log.info("notification failed: %s", error)  # the caller reports the returned lines
            errors.append(error)
        else:
            log.info("notification sent to=%s", _label(number, url))
    return errors


def check_notify_urls(urls: Sequence[str]) -> list[str]:
    """One line per URL apprise cannot use (unknown service, missing parts). No network."""
    if not urls:
        return []
    apprise = _apprise()
    if apprise is None:
        return [_INSTALL]
    problems = []
    for number, url in enumerate(urls, 1):
        with _quiet_apprise(), apprise.LogCapture(level=logging.WARNING) as captured:
            plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            reason = _reason(captured.getvalue(), "not a URL apprise can use")
            problems.append(f"{_label(number, url)}: {reason}")
    return problems


def _apprise() -> Any:
    """The apprise module, or None when it is not installed (it is an optional extra)."""
    try:
        import apprise
    except ImportError:
        return None
    return apprise


def _send(apprise: Any, url: str, title: str, body: str, label: str) -> str | None:
    """Send one notification; the failure as one line, or None."""
    try:
        with _quiet_apprise(), apprise.LogCapture(level=logging.WARNING) as captured:
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                return f"{label}: {_reason(captured.getvalue(), 'not a URL apprise can use')}"
            ok = plugin.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
        if ok:
            return None
        return f"{label}: {_reason(captured.getvalue(), 'sending failed')}"
    except Exception as e:  # a plugin bug must not cost the digest; reported, never raised
        return f"{label}: {type(e).__name__}: {plain_text(str(e), 200)}"


@contextlib.contextmanager
def _quiet_apprise() -> Iterator[None]:
    """Keep apprise's own log lines (which may hold URLs with secrets) out of our handlers: its
    warnings are captured and returned as one masked line instead."""
    logger = logging.getLogger("apprise")
    before = logger.propagate
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = before


def _reason(log_text: str, fallback: str) -> str:
    """apprise's last warning or error line, without its timestamp and level, and without any
    URL it quotes (the URL may carry a token or a password)."""
    lines = [ln.split(" - ", 2)[-1] for ln in log_text.strip().splitlines() if ln.strip()]
    if not lines:
        return fallback
    return plain_text(re.sub(r"[a-z][a-z0-9+.-]*://\S*", "(URL)", lines[-1], flags=re.I), 200)


def _label(number: int, url: str) -> str:
    """`notify #2 (tgram://…)`: which URL, without anything secret. Services put tokens and
    passwords anywhere in their URLs (user info, host, path, query), so only the scheme shows."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"notify #{number} ({plain_text(scheme, 20)}://…)"
