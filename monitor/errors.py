"""The monitor's exception tree.

Third-party exceptions are translated into these once, at the boundary where they arise
(`raise ... from e`), and reach the user in one place: `cli.main`, as one line and an exit code.
Anything that is not a `MonitorError` is a bug and keeps its traceback.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor expects and reports as one line."""

    exit_code = 1


class ConfigError(MonitorError):
    """`feeds.yaml` (or a command line) is wrong. Carries every problem found, one per line."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(MonitorError):
    """A command was called with arguments that cannot work (bad date, unknown entry id)."""

    exit_code = 2


class FetchError(MonitorError):
    """One feed could not be fetched. Never stops a run: it is recorded on the feed."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")


class StoreError(MonitorError):
    """The database is unusable: locked, damaged, or from a newer version of the monitor."""


class LockHeld(MonitorError):
    """Another process holds the poll lock on this database."""
