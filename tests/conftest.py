"""Shared fixtures. Real files in temp dirs; real servers on 127.0.0.1; nothing on the internet."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """`../shared` beside the repo; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture(autouse=True, scope="session")
def lexicon_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The analyzer's lexicon cache (monitor/analyze/lexicon_cache.py) in a temp dir for the
    whole session, and in the commands that tests run: no test writes to the real home."""
    path = tmp_path_factory.mktemp("lexicon-cache")
    before = os.environ.get("MONITOR_CACHE_DIR")
    os.environ["MONITOR_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        del os.environ["MONITOR_CACHE_DIR"]
    else:
        os.environ["MONITOR_CACHE_DIR"] = before
