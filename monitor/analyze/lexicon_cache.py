"""The built lexicon on disk, so that a new process need not build it again.

Building the lexicon (read the rules, lemmatise some 3,000 terms through pymorphy3, whose
dictionaries load first, and build the automaton) takes a third of a second; a hit (key,
read, checksum, unpickle) about 20 ms. Every `monitor poll` with new entries loads the rules
before its parse workers fork, so that third of a second was on every poll's critical path.

One file per key, `lexicon-<key>.pickle`, in `$MONITOR_CACHE_DIR`, else
`$XDG_CACHE_HOME/talks-monitor`, else `~/.cache/talks-monitor`. The key covers everything the
built lexicon depends on (see `key`). A file holds a header (magic, full key, SHA-256 of the
payload) and the pickle: a truncated or damaged file fails the checksum before anything is
unpickled. Files are written to a temp file and renamed into place, so a reader sees a whole
file or none; the newest few are kept. Any problem (no directory, read-only, corrupt, another
key, another owner, an unpickling error) is logged at debug level and the caller builds the
lexicon as if there were no cache: the cache can make a load faster, never make it fail.

I/O: reads and writes files in the cache directory; `key` reads our own source files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import monitor

log = logging.getLogger(__name__)

KEEP = 4  # files kept: the rules of a few configs (extra terms differ) side by side
_MAGIC = b"talks-monitor lexicon cache 1\n"
_PREFIX, _SUFFIX = "lexicon-", ".pickle"
_TMP_PREFIX, _TMP_SUFFIX = ".lexicon-", ".tmp"
_STALE_TMP_SECONDS = 3600  # a temp file this old is a writer's that died
_HERE = Path(__file__).resolve().parent
# The code that turns the rules into the lexicon (the classes pickled are defined here too).
_SOURCES = (_HERE / "lexicon.py", _HERE / "text.py")
# What lemmatises the terms and holds the automaton: (distribution, top-level module).
_DEPENDENCIES = (
    ("pymorphy3", "pymorphy3"),
    ("pymorphy3_dicts_uk", "pymorphy3_dicts_uk"),
    ("pymorphy3_dicts_ru", "pymorphy3_dicts_ru"),
    ("pyahocorasick", "ahocorasick"),
)


def cache_dir() -> Path:
    """Where the cache lives (reads the environment; creates nothing)."""
    explicit = os.environ.get("MONITOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "talks-monitor"


def key(rules_version: str, extra_json: str) -> str | None:
    """The key of a built lexicon: the rules in force (`rules_version`, which covers the rule
    files and the extra terms), the extra terms as given (`extra_json`: their order decides
    the order of a term's meanings, and `rules_version` sorts them), our version and source
    code, Python's version, and the versions of pymorphy3, its dictionaries and pyahocorasick
    (with pymorphy3's dictionary override, if set). None when one of them cannot be known: no
    cache then. Reads our two source files and lists the directories of the libraries."""
    try:
        h = hashlib.sha256()
        parts = [
            rules_version,
            extra_json,
            monitor.__version__,
            sys.version,
            os.environ.get("PYMORPHY2_DICT_PATH", ""),
            *(f"{dist}={_version(dist, module)}" for dist, module in _DEPENDENCIES),
        ]
        for part in parts:
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        for path in _SOURCES:
            h.update(path.read_bytes())
    except Exception as e:  # say, no source files in a frozen install
        log.debug("lexicon cache unusable error=%r", e)
        return None
    return h.hexdigest()


def _version(dist: str, module: str) -> str:
    """The installed version of `dist`, from its `.dist-info` directory beside `module`: the
    same answer as importlib.metadata without its import, which alone costs about as much as
    the rest of a cache hit. Falls back to importlib.metadata for an unusual layout."""
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        return "absent"
    origin = Path(spec.origin)
    site = origin.parent.parent if origin.name == "__init__.py" else origin.parent
    found: list[str] = []
    with contextlib.suppress(OSError):
        for name in os.listdir(site):
            if name.endswith(".dist-info"):
                project, _, version = name[: -len(".dist-info")].partition("-")
                if project.lower() == dist:
                    found.append(version)
    if found:
        return ",".join(sorted(found))  # several: a broken install; any change shows
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _path(directory: Path, cache_key: str) -> Path:
    return directory / f"{_PREFIX}{cache_key[:32]}{_SUFFIX}"


def load(cache_key: str) -> object | None:
    """The object saved under `cache_key`, or None when there is none that can be trusted
    (reads one file; never raises)."""
    try:
        path = _path(cache_dir(), cache_key)
        with open(path, "rb") as f:
            if hasattr(os, "geteuid") and os.fstat(f.fileno()).st_uid != os.geteuid():
                # Unpickling runs code: only a file of ours, not one planted in a shared dir.
                log.debug("lexicon cache ignored path=%s reason=owner", path)
                return None
            data = f.read()
        header = _MAGIC + cache_key.encode() + b"\n"
        digest_end = len(header) + 65
        if not data.startswith(header) or len(data) < digest_end:
            log.debug("lexicon cache ignored path=%s reason=header", path)
            return None
        payload = memoryview(data)[digest_end:]
        if hashlib.sha256(payload).hexdigest().encode() + b"\n" != data[len(header) : digest_end]:
            log.debug("lexicon cache ignored path=%s reason=checksum", path)
            return None
        value: object = pickle.loads(payload)
    except FileNotFoundError:
        log.debug("lexicon cache miss key=%s", cache_key[:32])
        return None
    except Exception as e:  # unpickling can raise almost anything
        log.debug("lexicon cache unreadable key=%s error=%r", cache_key[:32], e)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: the last file that pruning would remove
    log.debug("lexicon cache hit path=%s", path)
    return value


def save(cache_key: str, value: object) -> None:
    """Save `value` under `cache_key` (writes a temp file, renames it into place, removes our
    older files beyond the newest `KEEP`); never raises."""
    tmp: str | None = None
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        directory = cache_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + cache_key.encode() + b"\n")
            f.write(hashlib.sha256(payload).hexdigest().encode() + b"\n")
            f.write(payload)
        path = _path(directory, cache_key)
        os.replace(tmp, path)
        tmp = None
        log.debug("lexicon cache written path=%s bytes=%d", path, len(payload))
        _prune(directory)
    except Exception as e:  # a cache that cannot be written is none
        log.debug("lexicon cache not written key=%s error=%r", cache_key[:32], e)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _prune(directory: Path) -> None:
    """Remove our files beyond the newest `KEEP`, and temp files that writers left behind."""
    ours: list[tuple[float, Path]] = []
    now = time.time()
    for path in directory.iterdir():
        with contextlib.suppress(OSError):
            name = path.name
            if name.startswith(_PREFIX) and name.endswith(_SUFFIX):
                ours.append((path.stat().st_mtime, path))
            elif (
                name.startswith(_TMP_PREFIX)
                and name.endswith(_TMP_SUFFIX)
                and now - path.stat().st_mtime > _STALE_TMP_SECONDS
            ):
                path.unlink()
    for _, path in sorted(ours, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            path.unlink()
