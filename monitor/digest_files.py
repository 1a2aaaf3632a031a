"""The digest writer: renders a `DigestDay` to `digests/`, atomically. Does file I/O, no clock.

`write_digest` writes `YYYY-MM-DD.md` (and `.html` when asked), then rebuilds `index.md` and the
Atom feed `feed.xml` from the digest files present. Every file goes through `write_atomic`
(temp file in the same directory, fsync, `os.replace`), so a reader or a crash never sees half a
file, and the same inputs give byte-identical files.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from markdown_it import MarkdownIt

from monitor.digest import DigestDay, render_html, render_markdown

_DIGEST_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.md$")
# Characters XML 1.0 forbids; an old or hand-edited digest must not make feed.xml bozo.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FEED_ID = "tag:talks-monitor,2025:digests"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` so readers see the old file or the new one, never half.

    Skips the write when the file already holds exactly these bytes.
    """
    data = text.encode("utf-8")
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, hence best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_digest(day: DigestDay, digests_dir: Path, *, html: bool = False) -> Path:
    """Write the digest of `day` into `digests_dir` and rebuild the index and the feed.

    Returns the path of the Markdown digest. Creates `digests_dir` if needed.
    """
    digests_dir.mkdir(parents=True, exist_ok=True)
    path = digests_dir / f"{day.day.isoformat()}.md"
    write_atomic(path, render_markdown(day))
    if html:
        write_atomic(path.with_suffix(".html"), render_html(day))
    days = digest_days(digests_dir)
    write_atomic(digests_dir / "index.md", render_index(digests_dir, days))
    write_atomic(digests_dir / "feed.xml", render_feed(digests_dir, days, day.timezone))
    return path


def digest_days(digests_dir: Path) -> list[date]:
    """The days that have a Markdown digest in `digests_dir`, newest first."""
    days = []
    for p in digests_dir.iterdir():
        m = _DIGEST_NAME.match(p.name)
        if m and p.is_file():
            with contextlib.suppress(ValueError):
                days.append(date.fromisoformat(m.group(1)))
    return sorted(days, reverse=True)


def render_index(digests_dir: Path, days: list[date]) -> str:
    """`index.md`: every digest, newest first, with its HTML version when there is one."""
    lines = ["# Talks monitor digests", ""]
    for d in days:
        name = d.isoformat()
        html_link = f" ([HTML]({name}.html))" if (digests_dir / f"{name}.html").is_file() else ""
        lines.append(f"- [{name}]({name}.md){html_link}")
    if not days:
        lines.append("No digests yet.")
    return "\n".join(lines) + "\n"


def day_end_utc(d: date, timezone: str) -> datetime:
    """The instant a day ends in `timezone`, in UTC (DST-safe): the feed's `updated` stamp."""
    nxt = datetime.combine(d + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    return nxt.astimezone(UTC)


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_feed(digests_dir: Path, days: list[date], timezone: str) -> str:
    """`feed.xml`: an Atom 1.0 feed with one entry per digest, newest first. Reads the digests.

    `updated` is the end of each digest's day in `timezone`, so it never depends on the clock.
    The content is the digest's Markdown rendered to HTML (our own Markdown, already escaped;
    raw HTML is off in the renderer all the same), then XML-escaped.
    """
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    updated = _stamp(day_end_utc(days[0], timezone)) if days else "1970-01-01T00:00:00Z"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        "  <title>Talks monitor digests</title>",
        f"  <id>{FEED_ID}</id>",
        f"  <updated>{updated}</updated>",
        "  <author><name>talks monitor</name></author>",
        '  <link rel="alternate" href="index.md"/>',
    ]
    for d in days:
        name = d.isoformat()
        text = (digests_dir / f"{name}.md").read_text(encoding="utf-8", errors="replace")
        content = _NOT_XML.sub("\ufffd", md.render(text))
        out += [
            "  <entry>",
            f"    <title>Talks monitor digest {name}</title>",
            f"    <id>tag:talks-monitor,{name}:digest</id>",
            f"    <updated>{_stamp(day_end_utc(d, timezone))}</updated>",
            f'    <link rel="alternate" href={quoteattr(name + ".md")}/>',
            f'    <content type="html">{escape(content)}</content>',
            "  </entry>",
        ]
    out.append("</feed>")
    return "\n".join(out) + "\n"
