"""The long-running worker (`monitor run`), on APScheduler 3.

Polls at start and then every `poll_interval`; writes the digest of the day before at
`digest_time` in the configured time zone. Jobs coalesce, run one instance at a time, and
tolerate a misfire (a suspended laptop, a slow poll) up to a grace period. SIGTERM and SIGINT
stop new work at once; a poll in flight finishes the feeds it has fetched (each stored in its
own transaction) and the worker exits cleanly.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.analyze import Analyzer
from monitor.errors import LockHeld, MonitorError, StoreError
from monitor.models import Config
from monitor.pipeline import digest_day, open_store, run_once, write_digest_for
from monitor.store import poll_lock

log = logging.getLogger(__name__)


class Worker:
    """The scheduled jobs of one `monitor run`, and the stop signal they share."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.settings
        self.zone = ZoneInfo(config.settings.timezone)
        self.analyzer = Analyzer.load(config.analysis)
        self.stop = threading.Event()

    def poll(self) -> None:
        """One scheduled poll. A poll already holding the lock (cron, a manual `monitor poll`)
        makes this tick skip, with a log line."""
        from monitor.cli import prune_expired, summary_line

        try:
            with poll_lock(self.settings.database), open_store(self.config) as store:
                summary = run_once(self.config, store, self.analyzer, stop=self.stop)
                log.info("poll %s", summary_line(summary))
                pruned = prune_expired(self.config, store)
                if pruned:
                    log.info("pruned %d entries past retention", pruned)
        except LockHeld as e:
            log.warning("poll skipped: %s", e)
        except MonitorError as e:
            log.error("poll failed: %s", e)

    def digest(self) -> None:
        """Write the digest of the day that just ended (in the configured zone)."""
        day = datetime.now(self.zone).date() - timedelta(days=1)
        try:
            with open_store(self.config) as store:
                path = write_digest_for(self.config, store, day)
                log.info("digest written: %s", path)
                if self.settings.notify:
                    from monitor.notify import notify_digest

                    day_input = digest_day(self.config, store, day)
                    for error in notify_digest(self.settings, day_input, path):
                        log.warning("notification failed: %s", error)
        except MonitorError as e:
            log.error("digest failed: %s", e)

    def scheduler(self) -> BackgroundScheduler:
        """A scheduler with the poll (due at once) and the daily digest."""
        grace = int(max(60, self.settings.poll_interval.total_seconds() / 2))
        scheduler = BackgroundScheduler(
            timezone=self.zone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        )
        scheduler.add_job(
            self.poll,
            IntervalTrigger(
                seconds=self.settings.poll_interval.total_seconds(), timezone=self.zone
            ),
            id="poll",
            name="poll feeds",
            next_run_time=datetime.now(self.zone),
        )
        at = self.settings.digest_time
        scheduler.add_job(
            self.digest,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=self.zone),
            id="digest",
            name="write digest",
            misfire_grace_time=6 * 3600,  # a late digest beats a missing one
        )
        return scheduler


def run_worker(config: Config) -> None:
    """Run until SIGTERM or SIGINT. Blocks; returns after a clean shutdown.

    Checks the database once at start (SQLite's quick check): a damaged database stops the
    worker at once with a message, instead of failing every poll."""
    with open_store(config) as store:
        problems = store.check(thorough=False)
    if problems:
        raise StoreError(
            f"{config.settings.database}: {problems[0]}; run `monitor doctor` for details"
        )
    worker = Worker(config)
    scheduler = worker.scheduler()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping on signal %d", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    scheduler.start()
    log.info(
        "worker started: %d feeds, poll every %s, digest at %s %s",
        len(config.feeds),
        config.settings.poll_interval,
        config.settings.digest_time.strftime("%H:%M"),
        config.settings.timezone,
    )
    while not worker.stop.wait(1.0):
        pass
    scheduler.shutdown(wait=True)  # lets a running poll store what it fetched
    log.info("worker stopped")
