"""Build docs/example-digest.md: the digest of a day of real reporting, made by the monitor itself.

    .venv/bin/python scripts/example_digest.py [../shared/eval/dev.jsonl]

Serves the labelled items as RSS feeds (one feed per outlet) on a local server at 127.0.0.1,
runs `monitor poll` and `monitor digest --date today --html` with a fresh database in a temp
dir, and copies the digest into docs/. Nothing touches the internet.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.feedserver import FeedServer  # noqa: E402

MONITOR = Path(sys.executable).parent / "monitor"


def rss(outlet: str, items: list[dict[str, object]]) -> bytes:
    """One RSS 2.0 document carrying the items of one outlet."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0"><channel><title>{escape(outlet)}</title>',
    ]
    for item in items:
        pub = ""
        if item.get("published"):
            when = datetime.fromisoformat(str(item["published"])).replace(tzinfo=UTC)
            pub = f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        parts.append(
            f"<item><title>{escape(str(item['title']))}</title>"
            f"<link>{escape(str(item['url']))}</link><guid>{escape(str(item['url']))}</guid>"
            f"<description>{escape(str(item['summary']))}</description>{pub}"
            f"<language>{item['lang']}</language></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/eval/dev.jsonl"
    items = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line]
    by_outlet: dict[str, list[dict[str, object]]] = defaultdict(list)
    for item in items:
        by_outlet[str(item["source"])].append(item)
    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        lines = ["settings:", "  timezone: Europe/Kyiv", "feeds:"]
        for n, (outlet, outlet_items) in enumerate(sorted(by_outlet.items())):
            url = server.add(
                f"/feed/{n}.xml",
                body=rss(outlet, outlet_items),
                headers={"Content-Type": "application/rss+xml"},
            )
            langs = {str(i["lang"]) for i in outlet_items}
            lines += [f"  - url: {url}", f"    name: {json.dumps(outlet, ensure_ascii=False)}"]
            if len(langs) == 1:
                lines.append(f"    lang: {langs.pop()}")
        config = Path(tmp) / "feeds.yaml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for args in (["poll"], ["digest", "--date", "today", "--html"]):
            done = subprocess.run(
                [str(MONITOR), "--config", str(config), *args], capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(done.stderr)
            print(done.stdout.strip())
        written = Path(done.stdout.strip())
        shutil.copy(written, ROOT / "docs" / "example-digest.md")
        shutil.copy(written.with_suffix(".html"), ROOT / "docs" / "example-digest.html")
    print("written docs/example-digest.md and docs/example-digest.html")


if __name__ == "__main__":
    main()
