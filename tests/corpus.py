"""The shared feed corpus (`../shared/corpus`) and the HTTP headers its README prescribes."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SHARED

CORPUS = SHARED / "corpus"
NOT_DATA = {"README.md", "INDEX.tsv", "MANIFEST.tsv"}
REAL_FEED_TYPES = {
    ".rss": "application/rss+xml",
    ".xml": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
    ".html": "text/html",
}
# Upstream picks the codec of a file's header comment from its first bytes.
_WIDE_PREFIXES = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
)


def data_files() -> list[Path]:
    """Every data file of the corpus, sorted; empty when the corpus is absent."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_DATA)


def corpus_headers(rel: str, body: bytes) -> dict[str, str]:
    """The response headers (lower-case names) the corpus README prescribes for `rel`: a
    content type by extension for real-feeds; the `Header:` lines of feedparser's tests whose
    path contains "http" (text/xml when none sets one); nothing for the others."""
    if rel.startswith("real-feeds/"):
        return {"content-type": REAL_FEED_TYPES[Path(rel).suffix]}
    if "http" not in rel:
        return {}
    codec = next((c for prefix, c in _WIDE_PREFIXES if body.startswith(prefix)), "utf-8")
    text = body[:4096].decode(codec, "ignore")
    headers = {
        m.group(1).strip().lower(): m.group(2)
        for m in re.finditer(r"^Header:\s*([^:\n]+):\s*(.*?)\s*$", text, re.M)
    }
    headers.setdefault("content-type", "text/xml")
    return headers
