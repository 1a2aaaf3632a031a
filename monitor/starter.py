"""`monitor init`: a commented starter `feeds.yaml` and the next steps. Writes one file."""

from __future__ import annotations

import os
from pathlib import Path

from monitor.errors import UsageError

__all__ = ["STARTER_FEEDS", "next_steps", "write_starter"]

STARTER_FEEDS = """\
# The feeds the talks monitor follows. Edit this file freely (comments are kept when you use
# `monitor feeds add/remove` or `monitor opml import`); paths resolve relative to this file.
# Every key is described in README.md and docs/operations.md.

settings:
  database: monitor.db       # the SQLite database (browse it with `datasette monitor.db`)
  digests_dir: digests       # where YYYY-MM-DD.md, index.md and feed.xml are written
  timezone: Europe/Kyiv      # digest days and times shown (an IANA zone name)
  poll_interval: 30m         # how often `monitor run` polls
  digest_time: "07:00"       # when `monitor run` writes yesterday's digest (keep the quotes)
  # retention_days: 365      # prune entries first seen longer ago (default: keep all)
  # notify:                  # tell someone when a digest is written (needs talks-monitor[notify])
  #   - mailtos://user:app-password@example.org?to=desk@example.org
  #   - ntfy://ntfy.sh/my-private-topic

feeds:
  # One outlet of record per side, two wires, two international broadcasters: enough to see
  # the digest work. Add more with `monitor feeds add URL` (a site's home page will do).
  # A feed that carries only teasers can have its article pages fetched and read in full
  # with `full_text: true` on the feed (needs talks-monitor[fulltext]).
  - url: https://www.ukrinform.net/rss/block-lastnews
    name: Ukrinform (en)
    lang: en
  - url: https://kyivindependent.com/news-archive/rss/
    name: Kyiv Independent
    lang: en
  - url: https://tass.com/rss/v2.xml
    name: TASS (en)
    lang: en
  - url: https://meduza.io/rss/all
    name: Meduza
    lang: ru
  - url: https://www.aa.com.tr/en/rss/default?cat=world
    name: Anadolu Agency
    lang: en
  - url: https://feeds.bbci.co.uk/news/world/europe/rss.xml
    name: BBC News Europe
    lang: en
"""


def write_starter(directory: Path) -> Path:
    """Write `directory/feeds.yaml` (creating the directory); return its path.

    Raises UsageError when the file exists: `init` never overwrites a user's feeds.
    """
    path = directory / "feeds.yaml"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # O_EXCL: refuse an existing file even if one appears between a check and the write.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(
            f"{path}: already exists; not overwritten (edit it, or init elsewhere)"
        ) from None
    except OSError as e:
        raise UsageError(f"{path}: cannot create: {e.strerror or e}") from e
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(STARTER_FEEDS)
    return path


def next_steps(path: Path) -> str:
    """What to do after `init`, as printed text. Pure."""
    config = f" --config {path}" if path != Path("feeds.yaml") else ""
    return f"""wrote {path}

Next steps:
  1. Check the feeds answer:        monitor{config} feeds check
  2. Add your own:                  monitor{config} feeds add https://example.org/
     (or import a reader's list:    monitor{config} opml import subscriptions.opml)
  3. Poll once and look:            monitor{config} poll && monitor{config} status
  4. Write today's digest:          monitor{config} digest --date today
  5. Run it for good:               monitor{config} run
     (or under systemd or cron: see docs/operations.md)
"""
