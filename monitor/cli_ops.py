"""Operations commands (feeds, opml, notify, init) registered on the `monitor` parser.

Kept apart from `cli.py` so that the contract commands stay readable in one sitting. Each
command takes `(args, config)` like those in `cli.py`, imports what it needs when it runs (so
`monitor --help` stays fast) and reports problems by raising `MonitorError`s, which `cli.main`
turns into one line and an exit code.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from monitor.errors import UsageError

if TYPE_CHECKING:
    from monitor.feeds_admin import FeedCheck
    from monitor.models import Config

__all__ = ["add_commands"]


def _safe(text: object) -> str:
    from monitor.cli import safe

    return safe(text)


# --- feeds ---------------------------------------------------------------------------------


def cmd_feeds_list(args: argparse.Namespace, config: Config) -> int:
    """Every configured feed, in file order."""
    for feed in config.feeds:
        flags = [
            f for f, on in (("disabled", not feed.enabled), ("full text", feed.full_text)) if on
        ]
        extra = f"  [{', '.join(flags)}]" if flags else ""
        print(f"{_safe(feed.name)}  <{_safe(feed.url)}>  {feed.lang or '-'}{extra}")
    enabled = sum(1 for f in config.feeds if f.enabled)
    print(f"{len(config.feeds)} feeds ({enabled} enabled) in {config.path}")
    return 0


def cmd_feeds_add(args: argparse.Namespace, config: Config) -> int:
    """Check that URL is a feed (or find the feed its page links to), then add it."""
    import asyncio

    from monitor.feeds_admin import FeedsFile, FoundFeed, NewFeed, find_feed
    from monitor.fetch import Fetcher

    url = args.url.strip()
    lang = _lang(args.lang)
    edit = FeedsFile(config.path)
    known = edit.find(url)
    if known is not None:
        raise UsageError(f"{config.path}: already follows {known}")
    if args.no_check:
        found = FoundFeed(url, "", None, 0)
    else:

        async def look() -> FoundFeed:
            async with Fetcher(config.settings) as fetcher:
                return await find_feed(fetcher, url, lang=lang)

        found = asyncio.run(look())
    name = edit.add(
        NewFeed(
            url=found.url,
            name=args.name,
            title=found.title,
            lang=lang or found.lang,
            full_text=args.full_text,
        )
    )
    edit.save()
    if found.page:
        print(f"found the feed of {_safe(found.page)}: {_safe(found.url)}")
    if found.problem:
        print(f"warning: the feed is malformed but readable: {_safe(found.problem)}")
    what = "not checked" if args.no_check else f"{found.entries} entries now"
    print(f"added {_safe(name)} <{_safe(found.url)}> ({what}) to {config.path}")
    return 0


def cmd_feeds_remove(args: argparse.Namespace, config: Config) -> int:
    """Remove a feed from feeds.yaml (its stored entries stay in the database)."""
    from monitor.feeds_admin import FeedsFile

    edit = FeedsFile(config.path)
    written = edit.remove(args.url)
    edit.save()
    print(f"removed <{_safe(written)}> from {config.path}; its stored entries stay")
    return 0


def cmd_feeds_check(args: argparse.Namespace, config: Config) -> int:
    """Fetch every feed once and report; exit 0 whatever the feeds answered."""
    import asyncio

    from monitor.feeds_admin import check_feeds, summarize_checks

    checks = asyncio.run(check_feeds(config.feeds, config.settings))
    for check in checks:
        print(_check_line(check))
    print(summarize_checks(checks))
    return 0


_CHECK_LABELS = {"ok": "ok", "error": "FAILING", "gone": "GONE", "not_a_feed": "NOT FEED"}


def _check_line(check: FeedCheck) -> str:
    feed = check.feed
    label = _CHECK_LABELS.get(check.status, check.status)
    head = f"{label:9} {_safe(feed.name)}  <{_safe(feed.url)}>"
    if check.status == "ok":
        detail = f"{check.entries} entries in {check.elapsed:.1f}s"
        if check.problem:
            detail += f"; feed problem: {_safe(check.problem)}"
    elif check.status == "disabled":
        detail = "not fetched"
    else:
        detail = _safe(check.error or check.status)
    moved = f"\n          moved permanently to {_safe(check.moved_to)}" if check.moved_to else ""
    return f"{head}\n          {detail}{moved}"


def _lang(value: str | None) -> str | None:
    if value is None:
        return None
    from monitor.opml import LANG_CODE

    lang = value.strip().lower()
    if not LANG_CODE.match(lang):
        raise UsageError(f"--lang: expected a language code such as en, uk or ru (got {value!r})")
    return lang


# --- OPML ----------------------------------------------------------------------------------


def cmd_opml_export(args: argparse.Namespace, config: Config) -> int:
    """Write the feeds as OPML 2.0 to FILE, or to standard output."""
    from monitor.feeds_admin import write_preserving
    from monitor.opml import render_opml

    text = render_opml(config.feeds, now=datetime.now(UTC), titles=_stored_titles(config))
    if args.file in (None, "-"):
        sys.stdout.write(text)
        return 0
    path = Path(args.file)
    try:
        write_preserving(path, text)
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from e
    print(f"wrote {len(config.feeds)} feeds to {path}", file=sys.stderr)
    return 0


def _stored_titles(config: Config) -> dict[str, str]:
    """The feeds' own titles, from the database when there is one (else nothing)."""
    from monitor.errors import StoreError
    from monitor.store import Store

    if not config.settings.database.exists():
        return {}
    try:
        with Store(config.settings.database, create=False) as store:
            return {f.url: f.title for f in store.feed_states() if f.title}
    except StoreError:
        return {}


def cmd_opml_import(args: argparse.Namespace, config: Config) -> int:
    """Add the feeds of an OPML file to feeds.yaml, skipping those already followed."""
    from monitor.feeds_admin import FeedsFile, NewFeed
    from monitor.opml import MAX_OPML_BYTES, parse_opml

    path = Path(args.file)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_OPML_BYTES + 1)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from e
    feeds, skipped = parse_opml(data, str(path))
    edit = FeedsFile(config.path)
    added = already = 0
    for feed in feeds:
        if edit.find(feed.url) is not None:
            already += 1
            continue
        name = edit.add(
            NewFeed(url=feed.url, title=feed.title, lang=feed.lang, enabled=feed.enabled)
        )
        print(f"added {_safe(name)} <{_safe(feed.url)}>")
        added += 1
    for note in skipped:
        print(f"skipped {_safe(note)}")
    if added:
        edit.save()
    print(
        f"imported {added} feeds from {path} into {config.path}; "
        f"{already} already followed, {len(skipped)} skipped"
        + ("; run `monitor feeds check` to see that they answer" if added else "")
    )
    return 0


# --- notifications -------------------------------------------------------------------------


def cmd_notify(args: argparse.Namespace, config: Config) -> int:
    """Send the notification of one day's digest to settings.notify (exit 1 if any failed)."""
    from monitor.cli import parse_day
    from monitor.notify import notify_digest
    from monitor.pipeline import digest_day
    from monitor.store import Store

    urls = config.settings.notify
    if not urls:
        # Exit 0: timers and cron run `notify` after every digest, configured or not.
        print(f"{config.path}: settings.notify lists no URL; nothing sent")
        return 0
    zone = ZoneInfo(config.settings.timezone)
    day = parse_day(args.date, datetime.now(zone).date())
    with Store(config.settings.database, timezone=config.settings.timezone, create=False) as s:
        content = digest_day(config, s, day)
    errors = notify_digest(config.settings, content, config.settings.digests_dir / f"{day}.md")
    for error in errors:
        print(f"monitor: notification failed: {_safe(error)}", file=sys.stderr)
    print(f"digest {day}: notified {len(urls) - len(errors)} of {len(urls)} URLs")
    return 1 if errors else 0


# --- init ----------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, config: Config | None) -> int:
    """Write a starter feeds.yaml into DIR and print the next steps."""
    from monitor.starter import next_steps, write_starter

    path = write_starter(Path(args.dir))
    print(next_steps(path), end="")
    return 0


# --- parser --------------------------------------------------------------------------------


def add_commands(sub: Any) -> None:  # argparse's _SubParsersAction is private
    """Register the operations commands on the `monitor` subparsers."""
    p = sub.add_parser("feeds", help="list, add, remove or check the feeds in feeds.yaml")
    feeds = p.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    q = feeds.add_parser("list", help="the configured feeds")
    q.set_defaults(func=cmd_feeds_list)
    q = feeds.add_parser(
        "add", help="add a feed (a web page's URL will do: its feed is discovered)"
    )
    q.add_argument("url", metavar="URL")
    q.add_argument("--name", help="name shown in digests (default: the feed's title)")
    q.add_argument("--lang", help="language code: en, uk, ru, ... (default: the feed's)")
    q.add_argument("--full-text", action="store_true", help="fetch and read the article pages")
    q.add_argument("--no-check", action="store_true", help="add without fetching the URL")
    q.set_defaults(func=cmd_feeds_add)
    q = feeds.add_parser("remove", help="stop following a feed (its entries stay stored)")
    q.add_argument("url", metavar="URL")
    q.set_defaults(func=cmd_feeds_remove)
    q = feeds.add_parser("check", help="fetch every feed once and report what it answers")
    q.set_defaults(func=cmd_feeds_check)

    p = sub.add_parser("opml", help="export or import the feeds as OPML (any feed reader)")
    opml = p.add_subparsers(dest="opml_command", metavar="ACTION", required=True)
    q = opml.add_parser("export", help="write the feeds as OPML 2.0 (default: to stdout)")
    q.add_argument("file", nargs="?", metavar="FILE")
    q.set_defaults(func=cmd_opml_export)
    q = opml.add_parser("import", help="add the feeds of an OPML file, skipping duplicates")
    q.add_argument("file", metavar="FILE")
    q.set_defaults(func=cmd_opml_import)

    p = sub.add_parser("notify", help="send a digest's notification to settings.notify")
    p.add_argument("--date", default="yesterday", help="YYYY-MM-DD, today or yesterday")
    p.set_defaults(func=cmd_notify)

    p = sub.add_parser("init", help="write a starter feeds.yaml into DIR")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="default: .")
    # config_unused: `init` reads no feeds.yaml (honoured once cli.main checks it; see report).
    p.set_defaults(func=cmd_init, config_optional=True, config_unused=True)
