"""`monitor init`: a starter feeds.yaml that loads, the next steps, never an overwrite."""

from __future__ import annotations

from pathlib import Path

from monitor.config import load_config
from monitor.starter import STARTER_FEEDS
from tests.ops_helpers import monitor


def test_init_writes_a_starter_that_loads_and_prints_next_steps(tmp_path: Path) -> None:
    target = tmp_path / "new" / "place"
    done = monitor(tmp_path / "absent.yaml", "init", str(target))
    assert done.returncode == 0, done.stderr
    path = target / "feeds.yaml"
    assert done.stdout.startswith(f"wrote {path}\n\nNext steps:\n")
    assert f"monitor --config {path} feeds check" in done.stdout
    assert "docs/operations.md" in done.stdout
    assert path.read_text(encoding="utf-8") == STARTER_FEEDS
    config = load_config(path)
    assert len(config.feeds) == 6 and all(f.url.startswith("https://") for f in config.feeds)
    assert config.settings.database == target / "monitor.db"
    assert STARTER_FEEDS.count("#") > 10  # it explains itself


def test_init_in_the_current_directory(tmp_path: Path) -> None:
    done = monitor(tmp_path / "feeds.yaml", "init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "  1. Check the feeds answer:        monitor feeds check\n" in done.stdout
    assert (tmp_path / "feeds.yaml").exists()


def test_init_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://mine.example/rss\n", encoding="utf-8")
    done = monitor(tmp_path / "elsewhere.yaml", "init", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"monitor: {path}: already exists; not overwritten (edit it, or init elsewhere)"
    )
    assert path.read_text(encoding="utf-8") == "feeds:\n  - url: https://mine.example/rss\n"
