"""Read and check `feeds.yaml`, strictly, once at start-up.

In: a path. Out: a `Config`, or a `ConfigError` that lists every problem found, one line each,
as `FILE:LINE: KEY: message`. Reads one file; nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import __version__
from monitor.errors import ConfigError
from monitor.models import Config, FeedConfig, Settings
from monitor.yamlread import Map, Seq, YamlError
from monitor.yamlread import load as load_yaml

USER_AGENT = f"talks-monitor/{__version__} (+https://github.com/talks-monitor/talks-monitor)"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|k|m|g)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}
_SIZE_UNITS["gb"] = 1024**3
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

FEED_KEYS = ("url", "name", "lang", "enabled", "full_text")
TOP_KEYS = ("settings", "feeds", "analysis")


def parse_duration(value: object) -> timedelta:
    """`"30m"`, `"2h"`, `"90s"`, `"1d"` or a number of seconds → timedelta; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 2h or 90s")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError("expected a duration such as 30m, 2h or 90s")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return timedelta(seconds=seconds)


def parse_size(value: object) -> int:
    """`"10MB"`, `"512k"` or a number of bytes → bytes; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10MB or 512KB")
    if isinstance(value, int):
        size = value
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise ValueError("expected a size such as 10MB or 512KB")
        size = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError("must be greater than zero")
    return size


def parse_clock(value: object) -> time:
    """`"07:00"` → time(7, 0); ValueError otherwise. (YAML 1.1 reads 07:00 unquoted as minutes.)"""
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", str(value)) if isinstance(value, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError('expected a time of day such as "07:00" (quoted)')
    return time(int(m.group(1)), int(m.group(2)))


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("expected a whole number of at least 1")
    return value


def _seconds(value: object) -> float:
    return parse_duration(value).total_seconds()


def _timezone(value: object) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {value!r} (use a name such as Europe/Kyiv)") from e
    return str(value)


def _urls(value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("expected a notification URL or a list of them")
    out = []
    for item in items:
        if not isinstance(item, str) or "://" not in item:
            raise ValueError(f"not a notification URL: {item!r} (e.g. mailto://…, ntfy://…)")
        out.append(item.strip())
    return tuple(out)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


# settings key → (Settings field, converter)
SETTINGS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "database": ("database", _text),
    "digests_dir": ("digests_dir", _text),
    "timezone": ("timezone", _timezone),
    "poll_interval": ("poll_interval", parse_duration),
    "digest_time": ("digest_time", parse_clock),
    "concurrency": ("concurrency", _positive_int),
    "per_host_concurrency": ("per_host_concurrency", _positive_int),
    "connect_timeout": ("connect_timeout", _seconds),
    "read_timeout": ("read_timeout", _seconds),
    "total_timeout": ("total_timeout", _seconds),
    "max_feed_size": ("max_feed_bytes", parse_size),
    "max_redirects": ("max_redirects", _positive_int),
    "max_backoff": ("max_backoff", parse_duration),
    "user_agent": ("user_agent", _text),
    "retention_days": ("retention_days", _positive_int),
    "notify": ("notify", _urls),
}


class _Problems:
    """Collects `file:line: key: message` lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, line: int, key: str, message: str) -> None:
        where = f"{self.path}:{line}" if line else str(self.path)
        self.lines.append(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def _line_of(node: Map | Seq, key: Any) -> int:
    """1-based line of a key in a mapping (or an item in a sequence); 0 when unknown."""
    if isinstance(node, Map):
        return node.key_lines.get(key, 0)
    return node.lines[key] if isinstance(key, int) and 0 <= key < len(node.lines) else 0


def _value_line(node: Map, key: Any) -> int:
    return node.value_lines.get(key) or _line_of(node, key)


def load_config(path: Path) -> Config:
    """Read `path` and check it completely. Raises ConfigError listing every problem."""
    problems = _Problems(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (create it, or pass --config PATH)"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read: {e}"]) from e
    try:
        doc = load_yaml(text)
    except YamlError as e:
        where = f"{path}:{e.line}" if e.line else str(path)
        raise ConfigError([f"{where}: YAML syntax error: {e}"]) from e
    if doc is None:
        doc = Map()
        doc.key_lines, doc.value_lines = {}, {}
    if not isinstance(doc, Map):
        raise ConfigError([f"{path}:1: expected a mapping with 'settings' and 'feeds'"])

    for key in doc:
        if key not in TOP_KEYS:
            problems.add(
                _line_of(doc, key), str(key), f"unknown key (known: {', '.join(TOP_KEYS)})"
            )

    settings = _check_settings(doc.get("settings"), doc, problems)
    feeds = _check_feeds(doc.get("feeds"), doc, problems)
    analysis = doc.get("analysis") or {}
    if not isinstance(analysis, Mapping):
        problems.add(_line_of(doc, "analysis"), "analysis", "expected a mapping")
        analysis = {}
    elif analysis:
        analysis = _plain(analysis)
        # The analyzer knows its own shape; it reports problems as plain strings.
        from monitor.analyze import Analyzer

        for message in Analyzer.check_extra(analysis):
            problems.add(_line_of(doc, "analysis"), "analysis", message)
    if problems.lines:
        raise ConfigError(problems.lines)
    return Config(path=path, settings=settings, feeds=tuple(feeds), analysis=dict(analysis))


def _plain(value: object) -> Any:
    """The reader's line-aware containers → plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_settings(raw: object, doc: Map, problems: _Problems) -> Settings:
    base = problems.path.parent
    values: dict[str, Any] = {}
    if raw is not None and not isinstance(raw, Map):
        problems.add(_line_of(doc, "settings"), "settings", "expected a mapping")
        raw = None
    if isinstance(raw, Map):
        for key, value in raw.items():
            if key not in SETTINGS:
                problems.add(
                    _line_of(raw, key),
                    f"settings.{key}",
                    f"unknown key (known: {', '.join(SETTINGS)})",
                )
                continue
            field, convert = SETTINGS[key]
            try:
                values[field] = convert(value)
            except ValueError as e:
                problems.add(_value_line(raw, key), f"settings.{key}", f"{e} (got {value!r})")
    database = base / values.pop("database", "monitor.db")
    digests_dir = base / values.pop("digests_dir", "digests")
    values.setdefault("user_agent", USER_AGENT)
    return Settings(database=database, digests_dir=digests_dir, **values)


def _check_feeds(raw: object, doc: Map, problems: _Problems) -> list[FeedConfig]:
    if raw is None:
        problems.add(_line_of(doc, "feeds") if "feeds" in doc else 0, "feeds", "no feeds listed")
        return []
    if not isinstance(raw, Seq):
        problems.add(_line_of(doc, "feeds"), "feeds", "expected a list of feeds")
        return []
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        line = _line_of(raw, i)
        where = f"feeds[{i}]"
        if not isinstance(item, Map):
            problems.add(line, where, "expected a mapping with at least 'url'")
            continue
        ok = True
        for key in item:
            if key not in FEED_KEYS:
                problems.add(
                    _line_of(item, key),
                    f"{where}.{key}",
                    f"unknown key (known: {', '.join(FEED_KEYS)})",
                )
                ok = False
        url = item.get("url")
        if url is None:
            problems.add(line, f"{where}.url", "missing (every feed needs a url)")
            continue
        url_line = _value_line(item, "url")
        if not isinstance(url, str) or not _is_http_url(url.strip()):
            problems.add(url_line, f"{where}.url", f"not an http(s) URL: {url!r}")
            continue
        url = url.strip()
        if url in seen:
            problems.add(url_line, f"{where}.url", f"duplicate of the feed on line {seen[url]}")
            continue
        seen[url] = url_line
        name = item.get("name", urlsplit(url).hostname or url)
        if not isinstance(name, str) or not name.strip():
            problems.add(_value_line(item, "name"), f"{where}.name", "expected a non-empty string")
            ok = False
        lang = item.get("lang")
        if lang is not None and (not isinstance(lang, str) or not _LANG.match(lang)):
            problems.add(
                _value_line(item, "lang"),
                f"{where}.lang",
                f"expected a language code such as en, uk or ru (got {lang!r})",
            )
            ok = False
        enabled = item.get("enabled", True)
        full_text = item.get("full_text", False)
        for key, flag in (("enabled", enabled), ("full_text", full_text)):
            if not isinstance(flag, bool):
                problems.add(_value_line(item, key), f"{where}.{key}", "expected true or false")
                ok = False
        if ok:
            feeds.append(
                FeedConfig(
                    url=url,
                    name=str(name).strip(),
                    lang=lang.split("-")[0].lower() if isinstance(lang, str) else None,
                    enabled=bool(enabled),
                    full_text=bool(full_text),
                    line=line,
                )
            )
    names: dict[str, int] = {}
    for feed in feeds:
        if feed.name in names:
            problems.add(
                feed.line, "name", f"duplicate feed name {feed.name!r} (line {names[feed.name]})"
            )
        names.setdefault(feed.name, feed.line)
    return feeds


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url
