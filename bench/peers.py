"""The peers the monitor is measured against; each call is one poll, run as its own process.

    .venv/bin/python bench/peers.py loop   --urls FILE --state DIR
    .venv/bin/python bench/peers.py reader --urls FILE --state DIR [--workers 16]

- `loop`: the plain baseline. One feed after the other: httpx GET (keep-alive client, the
  validators of the last poll sent as If-None-Match / If-Modified-Since) and feedparser.parse
  of the body. Nothing is stored but the validators (a JSON file), so the unchanged poll can be
  conditional.
- `reader`: lemon24/reader with its own SQLite database in DIR: `add_feed` for every URL
  (exist_ok) and `update_feeds(scheduled=False, workers=W)`; W = 1 is its default, and
  scheduled=False makes it poll every feed each time, as `monitor poll` does. Installed for
  the benchmark only (`pip install reader`); exits 3 when it is not importable.

Prints one line: `feeds=N entries=M` (entries parsed, or stored by reader).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path


def poll_loop(urls: list[str], state_dir: Path) -> str:
    import feedparser
    import httpx

    state_file = state_dir / "validators.json"
    state: dict[str, list[str | None]] = (
        json.loads(state_file.read_text()) if state_file.exists() else {}
    )
    entries = 0
    with httpx.Client(timeout=30) as client:
        for url in urls:
            etag, modified = state.get(url, [None, None])
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
            response = client.get(url, headers=headers)
            if response.status_code == 304:
                continue
            parsed = feedparser.parse(
                io.BytesIO(response.content), response_headers=dict(response.headers)
            )
            entries += len(parsed.entries)
            state[url] = [response.headers.get("etag"), response.headers.get("last-modified")]
    state_file.write_text(json.dumps(state))
    return f"feeds={len(urls)} entries={entries}"


def poll_reader(urls: list[str], state_dir: Path, workers: int) -> str:
    try:
        from reader import make_reader
    except ImportError:
        print("reader is not installed (.venv/bin/pip install reader)", file=sys.stderr)
        raise SystemExit(3) from None
    reader = make_reader(str(state_dir / "reader.sqlite"))
    try:
        for url in urls:
            reader.add_feed(url, exist_ok=True)
        # scheduled=False: every feed, as the monitor's poll does (reader's default skips
        # feeds updated within the last hour, so an unchanged poll would send no request).
        reader.update_feeds(scheduled=False, workers=workers)
        entries = reader.get_entry_counts().total
    finally:
        reader.close()
    return f"feeds={len(urls)} entries={entries}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("peer", choices=["loop", "reader"])
    p.add_argument("--urls", type=Path, required=True, help="file with one feed URL a line")
    p.add_argument("--state", type=Path, required=True, help="directory kept between polls")
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    urls = args.urls.read_text().split()
    args.state.mkdir(parents=True, exist_ok=True)
    if args.peer == "loop":
        print(poll_loop(urls, args.state))
    else:
        print(poll_reader(urls, args.state, args.workers))


if __name__ == "__main__":
    main()
