"""feeds.yaml is checked once, strictly; every problem is reported with file, line and key."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from monitor.config import load_config, parse_clock, parse_duration, parse_size
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.problems


def test_shipped_feeds_yaml_is_valid() -> None:
    config = load_config(REPO / "feeds.yaml")
    assert 15 <= len(config.feeds) <= 25
    assert {f.lang for f in config.feeds} == {"en", "uk", "ru"}
    assert all(f.name for f in config.feeds)
    assert config.settings.timezone == "Europe/Kyiv"
    assert config.settings.database == REPO / "monitor.db"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "feeds:\n  - url: https://example.org/feed.xml\n"))
    (feed,) = config.feeds
    assert feed.name == "example.org"
    assert feed.lang is None and feed.enabled
    assert config.settings.poll_interval == timedelta(minutes=30)
    assert config.settings.digest_time == time(7, 0)
    assert config.settings.database == tmp_path / "monitor.db"
    assert config.settings.digests_dir == tmp_path / "digests"
    assert config.settings.user_agent.startswith("talks-monitor/")


def test_settings_are_read(tmp_path: Path) -> None:
    text = """settings:
  database: data/m.db
  timezone: Europe/Moscow
  poll_interval: 2h
  digest_time: "06:30"
  max_feed_size: 2MB
  concurrency: 4
feeds:
  - url: http://example.org/a
    name: A
    lang: uk-UA
"""
    config = load_config(write(tmp_path, text))
    s = config.settings
    assert s.database == tmp_path / "data/m.db"
    assert s.timezone == "Europe/Moscow"
    assert s.poll_interval == timedelta(hours=2)
    assert s.digest_time == time(6, 30)
    assert s.max_feed_bytes == 2 * 1024 * 1024
    assert s.concurrency == 4
    assert config.feeds[0].lang == "uk"


def test_every_problem_is_reported_at_once_with_line_and_key(tmp_path: Path) -> None:
    text = """settings:
  timezone: Mars/Olympus
  poll_interval: soon
  digest_time: "25:00"
  colour: blue
feeds:
  - url: ftp://example.org/feed
  - name: no url here
  - url: https://example.org/a
    lnag: en
  - url: https://example.org/b
  - url: https://example.org/b
extra: 1
"""
    found = problems(tmp_path, text)
    path = str(tmp_path / "feeds.yaml")
    assert all(p.startswith(path + ":") for p in found)
    joined = "\n".join(found)
    assert f"{path}:2: settings.timezone: unknown time zone" in joined
    assert f"{path}:3: settings.poll_interval:" in joined
    assert f"{path}:4: settings.digest_time:" in joined
    assert f"{path}:5: settings.colour: unknown key" in joined
    assert f"{path}:7: feeds[0].url: not an http(s) URL" in joined
    assert f"{path}:8: feeds[1].url: missing" in joined
    assert f"{path}:10: feeds[2].lnag: unknown key" in joined
    assert f"{path}:12: feeds[4].url: duplicate of the feed on line 11" in joined
    assert f"{path}:13: extra: unknown key" in joined
    assert len(found) == 9


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "feeds:\n  - url: https://a.org/x\n    name: [unclosed\n")
    assert len(found) == 1
    assert "YAML syntax error" in found[0]
    assert found[0].startswith(f"{tmp_path / 'feeds.yaml'}:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "file not found" in info.value.problems[0]


def test_wrong_shapes(tmp_path: Path) -> None:
    assert "expected a list of feeds" in "\n".join(problems(tmp_path, "feeds: 3\n"))
    assert "no feeds listed" in "\n".join(problems(tmp_path, "settings: {}\n"))
    assert "expected a mapping" in "\n".join(problems(tmp_path, "- a\n- b\n"))
    assert "expected true or false" in "\n".join(
        problems(tmp_path, "feeds:\n  - url: https://a.org/x\n    enabled: maybe\n")
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("90s", 90), ("1d", 86400), (45, 45), ("1.5h", 5400)],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0", "10 parsecs", True])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_clock_and_size() -> None:
    assert parse_clock("7:05") == time(7, 5)
    for bad in ("24:00", "7", 420, "07:60"):
        with pytest.raises(ValueError):
            parse_clock(bad)
    assert parse_size("512KB") == 512 * 1024
    assert parse_size(1000) == 1000
    with pytest.raises(ValueError):
        parse_size("lots")


def test_duplicate_keys_are_an_error_with_their_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "feeds:\n  - url: https://a.org/x\n    url: https://a.org/y\n")
    assert found == [
        f"{tmp_path / 'feeds.yaml'}:3: YAML syntax error: duplicate key 'url' (first on line 2)"
    ]


def test_scalars_are_read_the_yaml_1_2_way(tmp_path: Path) -> None:
    # `yes` is text in YAML 1.2 (a boolean in 1.1): a flag must say true or false.
    assert "expected true or false" in "\n".join(
        problems(tmp_path, "feeds:\n  - url: https://a.org/x\n    enabled: yes\n")
    )
    # Unquoted 07:00 stays text (YAML 1.1 made it 420 minutes), so it reads as a time.
    config = load_config(
        write(tmp_path, "settings:\n  digest_time: 07:00\nfeeds:\n  - url: https://a.org/x\n")
    )
    assert config.settings.digest_time == time(7, 0)


def test_nested_aliases_do_not_expand(tmp_path: Path) -> None:
    # "Billion laughs": each level refers to the one above ten times.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    found = problems(tmp_path, "\n".join(lines) + "\nfeeds: []\n")
    assert any("a11: unknown key" in p for p in found)
