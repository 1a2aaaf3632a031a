"""The lexicon cache: a hit gives the very analyzer a build gives; any damaged, foreign or
unwritable cache falls back to building, silently."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.analyze import Analyzer, lexicon, lexicon_cache
from monitor.evaluate import load_labelled
from tests.analyze_helpers import entry
from tests.conftest import SHARED

DEV = SHARED / "eval" / "dev.jsonl"
OWN = Path(__file__).resolve().parent / "data" / "labelled.jsonl"
EXTRA = {"relevance": {"terms": ["Vatican talks"]}, "actors": {"russia": ["Kremlin envoy X"]}}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("MONITOR_CACHE_DIR", str(path))
    return path


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Counts the lexicon builds (a load that hits the cache builds nothing)."""
    calls: list[object] = []
    real = lexicon._build

    def counting(extra: object) -> object:
        calls.append(extra)
        return real(extra)  # type: ignore[arg-type]

    monkeypatch.setattr(lexicon, "_build", counting)
    return calls


def files(cache: Path) -> list[Path]:
    return sorted(cache.glob("lexicon-*.pickle"))


def outputs(analyzer: Analyzer, per_set: int | None = None) -> list[str]:
    """The analysis and explanation of the labelled items (the first `per_set` of each set),
    as text."""
    out: list[str] = []
    for path in (DEV, OWN):
        if path.is_file():
            for item in load_labelled(path)[:per_set]:
                e = item.to_entry()
                out += [repr(analyzer.analyze(e)), analyzer.explain(e)]
    return out


def test_a_hit_gives_the_analyzer_a_build_gives(cache: Path, builds: list[object]) -> None:
    built = Analyzer.load()
    assert len(builds) == 1 and len(files(cache)) == 1
    cached = Analyzer.load()
    assert len(builds) == 1, "the second load should come from the cache"
    assert cached.lexicon is not built.lexicon
    for name in ("version", "keys", "sources", "cue_groups", "relevance"):
        assert getattr(cached.lexicon, name) == getattr(built.lexicon, name), name
    assert cached.lexicon.tokenizer.vocabulary == built.lexicon.tokenizer.vocabulary
    assert dict(cached.lexicon.automaton.items()) == dict(built.lexicon.automaton.items())
    assert len(outputs(built)) > 400  # both labelled sets, not a vacuous comparison
    assert outputs(cached) == outputs(built)


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_a_payload_byte(data: bytes) -> bytes:
    return data[:-100] + bytes([data[-100] ^ 1]) + data[-99:]


def _header_only(data: bytes) -> bytes:
    return data[: data.index(b"\n", len(lexicon_cache._MAGIC) + 1) + 1]


def _garbage_with_a_valid_checksum(data: bytes) -> bytes:
    # A payload that passes the checksum but names a class that does not exist.
    payload = b"cmonitor.nah\nNah\n."
    head = data[: data.index(b"\n", len(lexicon_cache._MAGIC) + 1) + 1]
    return head + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _another_shape(data: bytes) -> bytes:
    payload = pickle.dumps({"not": "a lexicon"})
    head = data[: data.index(b"\n", len(lexicon_cache._MAGIC) + 1) + 1]
    return head + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        _flip_a_payload_byte,
        _header_only,
        _garbage_with_a_valid_checksum,
        _another_shape,
        lambda data: b"",
        lambda data: b"\x00" * len(data),
    ],
)
def test_a_damaged_file_is_rebuilt_and_rewritten(
    cache: Path, builds: list[object], damage: Callable[[bytes], bytes]
) -> None:
    expected = Analyzer.load(EXTRA)
    (path,) = files(cache)
    whole = path.read_bytes()
    damaged = damage(whole)
    path.write_bytes(damaged)
    again = Analyzer.load(EXTRA)
    assert len(builds) == 2, "a damaged file must not be used"
    # Not byte for byte: pyahocorasick's pickle holds bytes of its nodes that it never reads.
    assert path.read_bytes() != damaged and len(path.read_bytes()) == len(whole)
    assert outputs(again, 30) == outputs(expected, 30)
    from_file = Analyzer.load(EXTRA)
    assert len(builds) == 2, "the damaged file is replaced by one the next load uses"
    assert outputs(from_file, 30) == outputs(expected, 30)


def test_an_unwritable_cache_dir_means_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builds: list[object]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MONITOR_CACHE_DIR", str(blocker / "cache"))  # even root cannot mkdir
    first = Analyzer.load()
    second = Analyzer.load()
    assert len(builds) == 2
    assert list(tmp_path.iterdir()) == [blocker]
    withdraw = entry("Russia demands Ukraine withdraw from Donetsk")
    assert second.analyze(withdraw) == first.analyze(withdraw)
    assert second.analyze(withdraw).claims


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
def test_a_read_only_cache_dir_still_serves_what_it_holds(
    cache: Path, builds: list[object]
) -> None:
    Analyzer.load()
    cache.chmod(0o500)
    try:
        Analyzer.load()
        Analyzer.load(EXTRA)  # a miss that cannot be saved
    finally:
        cache.chmod(0o700)
    assert len(builds) == 2
    assert len(files(cache)) == (1 if os.geteuid() != 0 else 2)  # root writes anyway


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_file_of_another_user_is_not_unpickled(cache: Path, builds: list[object]) -> None:
    Analyzer.load()
    (path,) = files(cache)
    os.chown(path, 12345, -1)
    Analyzer.load()
    assert len(builds) == 2


def test_the_key_changes_with_the_extra_terms_and_their_order() -> None:
    def key(extra: dict[str, object] | None) -> str | None:
        return lexicon._cache_key(lexicon.rules_version(extra), extra)

    other = {"relevance": {"terms": ["Vatican talks", "Holy See talks"]}}
    reordered = {"actors": EXTRA["actors"], "relevance": EXTRA["relevance"]}
    keys = {key(None), key(EXTRA), key(other), key(reordered)}
    assert None not in keys and len(keys) == 4
    assert key(EXTRA) == key(json.loads(json.dumps(EXTRA))), "and only with them"


def test_extra_terms_get_their_own_file_and_work_from_it(cache: Path, builds: list[object]) -> None:
    plain = Analyzer.load()
    custom = Analyzer.load(EXTRA)
    assert len(builds) == 2 and len(files(cache)) == 2
    cached = Analyzer.load(EXTRA)
    assert len(builds) == 2
    assert cached.version == custom.version != plain.version
    vatican = entry("Zelensky and Putin envoys hold Vatican talks on Ukraine")
    assert cached.analyze(vatican) == custom.analyze(vatican)
    assert any("vatican" in e.lower() for e in cached.analyze(vatican).evidence)
    assert not any("vatican" in e.lower() for e in plain.analyze(vatican).evidence)


def test_only_the_newest_files_are_kept(cache: Path) -> None:
    keys = [str(i) * 64 for i in range(lexicon_cache.KEEP + 2)]
    for i, k in enumerate(keys):
        lexicon_cache.save(k, i)
        os.utime(lexicon_cache._path(cache, k), (1000 + i, 1000 + i))
    stray = cache / ".lexicon-old.tmp"
    stray.write_bytes(b"a writer that died")
    os.utime(stray, (0, 0))
    lexicon_cache.save("f" * 64, "last")
    assert len(files(cache)) == lexicon_cache.KEEP
    assert lexicon_cache.load("f" * 64) == "last"
    assert [lexicon_cache.load(k) for k in keys] == [None] * 3 + [3, 4, 5]
    assert not stray.exists()


def test_pymorphy3_loads_only_for_a_ukrainian_or_russian_text(cache: Path) -> None:
    Analyzer.load()  # fills the cache
    script = """
import sys
from datetime import UTC, datetime
from monitor.analyze import Analyzer
from monitor.models import Entry

def entry(title, lang):
    return Entry(
        id="e", feed_key="e", url=None, title=title, summary="", content="",
        published=datetime(2025, 8, 20, tzinfo=UTC), updated=None, lang=lang,
    )

a = Analyzer.load()
print("pymorphy3" in sys.modules)
a.analyze(entry("Russia demands Ukraine withdraw from Donetsk", "en"))
print("pymorphy3" in sys.modules)
a.analyze(entry("Росія вимагає виведення військ з Донеччини", "uk"))
print("pymorphy3" in sys.modules)
"""
    assert _python(script).split() == ["False", "False", "True"]


def test_library_versions_are_those_importlib_metadata_reports() -> None:
    from importlib import metadata

    for dist, module in lexicon_cache._DEPENDENCIES:
        assert lexicon_cache._version(dist, module) == metadata.version(dist)
    assert lexicon_cache._version("no-such-dist", "no_such_module") == "absent"


def test_warm_loads_the_morphology_the_feeds_may_need(cache: Path) -> None:
    """Before the poll's workers fork, the parent loads the morphology of the feeds' languages
    (a feed without one may carry any), so that the workers share it."""
    Analyzer.load()  # fills the cache: the script's load then needs no morphology
    script = """
import sys
from monitor.analyze import Analyzer
from monitor.analyze import text

a = Analyzer.load()
a.warm(["en"])
print(sorted(text._ANALYZERS))
a.warm(["en", "ru"])
print(sorted(text._ANALYZERS))
a.warm([None])
print(sorted(text._ANALYZERS))
"""
    assert _python(script).split("\n")[:3] == ["[]", "['ru']", "['ru', 'uk']"]


def _python(script: str) -> str:
    """What `script` prints, run by a fresh Python from the repository's root."""
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout
