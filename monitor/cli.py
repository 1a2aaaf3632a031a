"""The `monitor` command line: the one place where errors become messages and exit codes.

Exit codes: 0 ok; 1 runtime failure (database unusable, another poll running); 2 bad
configuration or usage. Heavy modules are imported inside the commands, so `monitor --help`
starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from monitor import __version__
from monitor.errors import ConfigError, MonitorError, UsageError

if TYPE_CHECKING:
    from monitor.models import Config, FeedOutcome, RunSummary, StoredEntry
    from monitor.store import Store

log = logging.getLogger("monitor")

# ANSI escape sequences, C0/C1 controls (but tab and newline) and the bidi overrides and
# isolates that reorder what a terminal shows (Trojan Source): feed text never reaches a
# terminal or a log raw.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def safe(text: object) -> str:
    """Feed text made harmless for a terminal or a log line: controls and escapes removed."""
    return _CONTROL.sub("", str(text)).replace("\n", " ")


class _SafeFormatter(logging.Formatter):
    """Log lines carry server-supplied text (reason phrases, URLs): strip what a terminal or
    the journal would interpret, keeping newlines for tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        return _CONTROL.sub("", super().format(record))


# --- commands ------------------------------------------------------------------------------


def cmd_poll(args: argparse.Namespace, config: Config) -> int:
    """Fetch every due feed once, analyze, store; print a short summary."""
    from monitor.analyze import Analyzer
    from monitor.pipeline import open_store, run_once
    from monitor.store import poll_lock

    def analyzer() -> Analyzer:
        # Loaded (about half a second) only when some feed has a new document.
        return Analyzer.load(config.analysis)

    with poll_lock(config.settings.database, wait=args.wait), open_store(config) as store:
        summary = _with_progress(
            lambda on_start, on_outcome: run_once(
                config,
                store,
                analyzer,
                force=args.all,
                on_start=on_start,
                on_outcome=on_outcome,
            )
        )
        print(summary_line(summary))
        pruned = prune_expired(config, store)
        if pruned:
            print(f"pruned {pruned} entries older than {config.settings.retention_days} days")
        for outcome in summary.outcomes:
            if outcome.permanent_redirect:
                print(
                    f"moved: {safe(outcome.name)} now lives at {safe(outcome.permanent_redirect)}"
                    " (update feeds.yaml)"
                )
    return 0


def prune_expired(config: Config, store: Store) -> int:
    """Apply `retention_days`, if set: delete older entries, keep their claims' history."""
    days = config.settings.retention_days
    if days is None:
        return 0
    now = datetime.now(UTC)
    return store.prune(now - timedelta(days=days), now)


def _with_progress(
    run: Callable[[Callable[[int], None], Callable[[FeedOutcome], None]], RunSummary],
) -> RunSummary:
    """A progress bar on a terminal; nothing but the caller's summary otherwise (cron mail)."""
    if not sys.stderr.isatty():
        return run(lambda n: None, lambda o: None)
    from tqdm import tqdm

    bar: Any = None

    def start(total: int) -> None:
        nonlocal bar
        bar = tqdm(total=total, unit="feed", file=sys.stderr, leave=False)

    def step(outcome: FeedOutcome) -> None:
        if bar is not None:
            bar.set_postfix_str(safe(outcome.name)[:30], refresh=False)
            bar.update(1)

    try:
        return run(start, step)
    finally:
        if bar is not None:
            bar.close()


def summary_line(summary: RunSummary) -> str:
    seconds = (summary.finished - summary.started).total_seconds()
    polled = len(summary.outcomes) - summary.count("skipped")
    return (
        f"polled {polled} feeds in {seconds:.1f}s: {summary.count('ok')} ok, "
        f"{summary.count('not_modified')} not modified, {summary.count('error')} failed, "
        f"{summary.count('gone')} gone, {summary.count('skipped')} skipped; "
        f"{summary.new_entries} new entries"
    )


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    """Check the database thoroughly; with --fix, repair what can be repaired in place."""
    with _store(config) as store:
        problems = store.check(thorough=True)
        if problems and args.fix:
            from monitor.analyze import Analyzer
            from monitor.pipeline import reclassify

            store.rebuild_search_index()
            reclassify(store, Analyzer.load(config.analysis))
            problems = store.check(thorough=True)
        counts = store.counts()
    for problem in problems:
        print(f"problem: {safe(problem)}")
    if problems:
        print(
            f"{config.settings.database}: {len(problems)} problems. Try `monitor doctor --fix`; "
            "if integrity problems remain, restore a backup or move the file aside (the next "
            "poll starts a new database and fetches what the feeds still carry)."
        )
        return 1
    print(
        f"{config.settings.database}: ok (schema current, integrity ok, search index ok; "
        f"{counts['entries']} entries, {counts['claims']} claims)"
    )
    return 0


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """The long-running worker."""
    from monitor.schedule import run_worker

    run_worker(config)
    return 0


def cmd_digest(args: argparse.Namespace, config: Config) -> int:
    from monitor.pipeline import write_digest_for

    zone = ZoneInfo(config.settings.timezone)
    day = parse_day(args.date, datetime.now(zone).date())
    with _store(config) as store:
        path = write_digest_for(config, store, day, html=args.html)
    print(path)
    return 0


def parse_day(value: str, today: date) -> date:
    """`today`, `yesterday` or YYYY-MM-DD → a date; UsageError otherwise."""
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--date: expected YYYY-MM-DD, today or yesterday (got {value!r})"
        ) from None


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    with _store(config) as store:
        feeds = store.feed_states()
        counts = store.counts()
    zone = ZoneInfo(config.settings.timezone)

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "never"

    failing = 0
    for f in feeds:
        if f.gone:
            state = "GONE"
        elif f.consecutive_failures:
            state = "FAILING"
            failing += 1
        elif f.last_success:
            state = "ok"
        else:
            state = "new"
        lines = [
            f"{state:8} {safe(f.name)}  <{safe(f.url)}>",
            f"         last success {when(f.last_success)}; entries {f.entries}",
        ]
        if f.consecutive_failures or f.gone:
            lines.append(
                f"         failing since {when(f.error_since)} ({f.consecutive_failures} in a row):"
                f" {safe(f.last_error or '')}"
            )
            if f.next_attempt and not f.gone:
                lines.append(f"         next attempt {when(f.next_attempt)}")
        if f.problem:
            lines.append(f"         feed problem: {safe(f.problem)}")
        if f.redirected_to:
            lines.append(
                f"         moved permanently to {safe(f.redirected_to)} (update feeds.yaml)"
            )
        print("\n".join(lines))
    print(
        f"{counts['feeds']} feeds, {failing} failing; {counts['entries']} entries, "
        f"{counts['relevant']} relevant, {counts['claims']} claims"
    )
    return 0


def export_record(stored: StoredEntry) -> dict[str, Any]:
    """One entry in the export contract (DESIGN.md)."""
    from monitor.store import to_text

    e = stored.entry
    return {
        "id": e.id,
        "feed": stored.feeds[0] if stored.feeds else None,
        "feeds": list(stored.feeds),
        "url": e.url,
        "title": e.title,
        "summary": e.summary,
        "lang": e.lang,
        "published": to_text(e.published),
        "first_seen": to_text(stored.first_seen),
        "relevant": stored.relevant,
        "score": round(stored.score, 4),
        "evidence": list(stored.evidence),
        "story": stored.story,
        "claims": [
            {
                "actor": c.claim.actor,
                "stance": c.claim.stance,
                "issue": c.claim.issue,
                "target": c.claim.target,
                "detail": c.claim.detail,
                "evidence": c.claim.evidence,
                "first_reported": to_text(c.first_reported),
                "new": c.new,
            }
            for c in stored.claims
        ],
    }


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    since = None
    if args.since:
        zone = ZoneInfo(config.settings.timezone)
        day = parse_day(args.since, datetime.now(zone).date())
        since = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    out: TextIO = sys.stdout
    with _store(config) as store:
        for stored in store.export_entries(since):
            # JSON escapes every control character, so the output is terminal-safe as it is.
            out.write(json.dumps(export_record(stored), ensure_ascii=False) + "\n")
    return 0


def cmd_search(args: argparse.Namespace, config: Config) -> int:
    zone = ZoneInfo(config.settings.timezone)
    with _store(config) as store:
        hits = store.search(" ".join(args.query), limit=args.limit)
    for hit in hits:
        mark = "*" if hit.relevant else " "
        print(
            f"{mark} {hit.first_seen.astimezone(zone):%Y-%m-%d %H:%M}  {safe(hit.entry.title)}"
            f"\n    {safe(', '.join(hit.feeds))}  {safe(hit.entry.url or '')}  [{hit.entry.id}]"
        )
    if not hits:
        print("no matches")
    return 0


def cmd_reclassify(args: argparse.Namespace, config: Config) -> int:
    from monitor.analyze import Analyzer
    from monitor.pipeline import reclassify
    from monitor.store import poll_lock

    analyzer = Analyzer.load(config.analysis)
    with poll_lock(config.settings.database, wait=args.wait), _store(config) as store:
        changed, total = reclassify(store, analyzer)
    print(f"reclassified {total} entries: {changed} changed")
    return 0


def cmd_explain(args: argparse.Namespace, config: Config) -> int:
    from monitor.analyze import Analyzer

    analyzer = Analyzer.load(config.analysis)
    with _store(config) as store:
        stored = store.get_entry(args.entry_id)
    if stored is None:
        raise UsageError(f"no stored entry with id {args.entry_id!r} (see `monitor search`)")
    print(safe(f"{stored.entry.title}  [{stored.entry.id}]"))
    for line in analyzer.explain(stored.entry).splitlines():
        print(safe(line))
    return 0


def cmd_eval(args: argparse.Namespace, config: Config | None) -> int:
    from monitor.analyze import Analyzer
    from monitor.evaluate import evaluate, format_report, load_labelled

    analyzer = Analyzer.load(config.analysis if config else None)
    try:
        items = load_labelled(Path(args.file))
    except FileNotFoundError:
        raise UsageError(f"{args.file}: file not found") from None
    except ValueError as e:
        raise UsageError(f"{args.file}: {e}") from e
    print(format_report(evaluate(items, analyzer)))
    return 0


def _store(config: Config) -> Store:
    from monitor.store import Store

    return Store(config.settings.database, timezone=config.settings.timezone, create=False)


# --- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Follow news feeds on the Russia–Ukraine negotiations; write a daily digest.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=os.environ.get("MONITOR_CONFIG", "feeds.yaml"),
        help="feeds.yaml to use (default: ./feeds.yaml or $MONITOR_CONFIG)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log one line per feed")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("poll", help="fetch every due feed once, analyze and store")
    p.add_argument("--all", action="store_true", help="also poll feeds that are backing off")
    p.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait this long for a running poll to finish (default: do not wait)",
    )
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("run", help="the scheduled worker: poll on an interval, digest daily")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("doctor", help="check the database (integrity, schema, search index)")
    p.add_argument("--fix", action="store_true", help="rebuild the search index and ledger")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("digest", help="write the digest of one day")
    p.add_argument("--date", default="yesterday", help="YYYY-MM-DD, today or yesterday")
    p.add_argument("--html", action="store_true", help="also write an HTML rendering")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("status", help="per-feed health")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", help="one JSON object per stored entry")
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--since", metavar="DATE", help="only entries first seen on or after DATE")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("search", help="full-text search over stored entries")
    p.add_argument("query", nargs="+")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("reclassify", help="re-run the analysis over every stored entry")
    p.add_argument("--wait", type=float, default=0, metavar="SECONDS")
    p.set_defaults(func=cmd_reclassify)

    p = sub.add_parser("explain", help="why an entry was judged relevant, and its claims")
    p.add_argument("entry_id")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("eval", help="score the analysis on a labelled JSONL file")
    p.add_argument("file")
    p.set_defaults(func=cmd_eval, config_optional=True)

    from monitor.cli_ops import add_commands

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse arguments, load the config, run the command, map errors to codes."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "run" else logging.WARNING,
        handlers=[handler],
    )
    # httpx logs every request at INFO; the pipeline's one line per feed says what matters.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from monitor.config import load_config

        path = Path(args.config)
        config: Config | None
        if getattr(args, "config_unused", False) or (
            getattr(args, "config_optional", False) and not path.exists()
        ):
            config = None
        else:
            config = load_config(path)
        return int(args.func(args, config))
    except ConfigError as e:
        for problem in e.problems:
            print(f"monitor: {safe(problem)}", file=sys.stderr)
        return e.exit_code
    except MonitorError as e:
        print(f"monitor: {safe(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("monitor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `monitor export | head`: the reader left; not an error of ours.
        sys.stderr.close()
        return 0
