"""Helpers shared by the operations tests (test_ops_*.py): the installed command, configs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MONITOR = Path(sys.executable).parent / "monitor"
REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"


def monitor(
    config: Path, *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed `monitor --config CONFIG ARGS...` as a user would; no stdin."""
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    return subprocess.run(
        [str(MONITOR), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


COMMENTED = """\
# My feeds: a comment at the top that must survive every edit.
settings:
  timezone: UTC        # an end-of-line comment
  total_timeout: 5s

feeds:
  # --- Ukrainian outlets ---
  # Feed A: described above its item.
  - url: {a}
    name: Feed A   # why A
    lang: en
  # Feed B: described above its item.
  - url: {b}
    name: "Feed B"
# a comment at the very end
"""


def write_commented(tmp_path: Path, a: str, b: str) -> Path:
    """A feeds.yaml with comments everywhere, quoting, and blank lines: what users write."""
    path = tmp_path / "feeds.yaml"
    path.write_text(COMMENTED.format(a=a, b=b), encoding="utf-8")
    return path
