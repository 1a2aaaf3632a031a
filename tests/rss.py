"""Small RSS documents for pipeline and CLI tests."""

from __future__ import annotations

from html import escape

TALKS = [
    (
        "Russia and Ukraine agree to swap 1,200 prisoners at Istanbul talks",
        "Delegations led by Vladimir Medinsky and Rustem Umerov agreed in Istanbul on Wednesday "
        "to exchange 1,200 prisoners of war each, Ukraine's negotiators said.",
    ),
    (
        "Kremlin says Ukraine must withdraw from Donetsk before any ceasefire",
        "Kremlin spokesman Dmitry Peskov said on Monday that Russia demands Ukraine withdraw its "
        "forces from the Donetsk region as a condition for a ceasefire in peace talks.",
    ),
    (
        "Football: Galatasaray win the Istanbul derby",
        "Galatasaray beat Fenerbahce 2-1 in Istanbul on Sunday to stay top of the Super Lig.",
    ),
]


def rss(
    items: list[tuple[str, str]], *, start: int = 0, base: str = "https://news.example"
) -> bytes:
    """An RSS 2.0 document with one item per (title, summary), guids numbered from `start`."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel><title>Test feed</title><link>https://news.example/</link>',
        "<language>en</language>",
    ]
    for i, (title, summary) in enumerate(items, start=start):
        parts.append(
            f"<item><title>{escape(title)}</title><link>{base}/story/{i}</link>"
            f"<guid>{base}/story/{i}</guid><description>{escape(summary)}</description>"
            f"<pubDate>Mon, 02 Jun 2025 {8 + i % 10:02d}:00:00 GMT</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")
