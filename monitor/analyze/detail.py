"""`Claim.detail`: the normalised specifics that make a claim news (trap T19).

Pure functions of a claim's issue and the tokens and lexicon hits of its window:
- territory: "<action>:<regions>" such as "withdraw:donetsk,luhansk", or either part alone;
- military_limits: "cap:<number>" such as "cap:800000";
- ceasefire: "<kind>[:<duration>]" such as "energy:30d" or "ceasefire:30d", or "easter";
- prisoners: "exchange:<number>", "all_for_all" or "bodies:<number>";
- children: "list:<number>"; security_guarantees: "article5" or "years:<n>";
- anything else, or nothing specific found: "".
"""

from __future__ import annotations

import re

from monitor.analyze.lexicon import Match
from monitor.analyze.text import Token

_ACTION_ORDER = ("withdraw", "cede", "recognize", "freeze", "dmz", "fez")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?k?$")
_THOUSAND = frozenset({"thousand", "тисяча", "тис", "тысяча", "тыс"})
_MILLION = frozenset({"million", "мільйон", "млн", "миллион"})
_DAY = frozenset({"day", "дні", "день", "доба", "сутки", "днів", "дня", "днь"})
_HOUR = frozenset({"hour", "година", "час", "годину"})
_YEAR = frozenset({"year", "рік", "год", "років", "лет"})
_BODY = frozenset({"body", "bodi", "remain", "тіло", "тело"})
_ALL_FOR_ALL = ("all for all", "всі на всіх", "весь на весь", "всех на всех", "всіх на всіх")


def _numbers(tokens: list[Token]) -> list[tuple[int, int]]:
    """(value, token index) of every number, with "600k", "600 thousand", "600 тис." read."""
    out: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        lem = tok.lemma
        if not _NUMBER.match(lem):
            continue
        mult = 1
        if lem.endswith("k"):
            mult, lem = 1000, lem[:-1]
        nxt = tokens[i + 1].lemma if i + 1 < len(tokens) else ""
        if nxt in _THOUSAND or nxt.startswith("тис") or nxt.startswith("тыс"):
            mult = 1000
        elif nxt in _MILLION:
            mult = 1_000_000
        try:
            value = float(lem.replace(",", "."))
        except ValueError:
            continue
        out.append((int(value * mult), i))
    return out


def _unit_after(tokens: list[Token], i: int, units: frozenset[str]) -> bool:
    for j in (i + 1, i + 2):
        if j < len(tokens) and (tokens[j].lemma in units or tokens[j].surface in units):
            return True
    return False


def detail_for(issue: str, tokens: list[Token], matches: list[Match], lo: int, hi: int) -> str:
    """The detail of a claim on `issue` whose window is tokens [lo, hi) of the sentence."""
    window = [m for m in matches if lo <= m.start < hi]
    toks = tokens[lo:hi]
    if issue == "territory":
        regions: set[str] = set()
        actions: set[str] = set()
        for m in window:
            if m.kind == "region":
                regions.update(m.ref.split(","))
            elif m.kind == "tact":
                actions.add(m.ref)
        action = next((a for a in _ACTION_ORDER if a in actions), "")
        region = ",".join(sorted(regions))
        if action and region:
            return f"{action}:{region}"
        return action or region
    if issue == "military_limits":
        caps = [v for v, _ in _numbers(toks) if 10_000 <= v <= 5_000_000]
        return f"cap:{max(caps)}" if caps else ""
    if issue == "ceasefire":
        kinds = sorted({m.ref for m in window if m.kind == "ckind"})
        duration = ""
        for v, i in _numbers(toks):
            if _unit_after(toks, i, _DAY) and 0 < v <= 366:
                duration = f"{v}d"
                break
            if _unit_after(toks, i, _HOUR) and 0 < v <= 240:
                duration = f"{v}h"
                break
        if not duration:
            days = [m.ref for m in window if m.kind == "duration"]
            duration = f"{days[0]}d" if days else ""
        kind = kinds[0] if kinds else ""
        if kind == "full" and duration:
            kind = ""
        if kind:
            return f"{kind}:{duration}" if duration else kind
        return f"ceasefire:{duration}" if duration else ""
    if issue == "prisoners":
        text = " ".join(t.lemma for t in toks)
        if any(p in text for p in _ALL_FOR_ALL):
            return "all_for_all"
        pairs = [(v, i) for v, i in _numbers(toks) if 2 <= v <= 100_000 and not 1990 <= v <= 2100]
        if pairs:
            v, i = max(pairs)
            near_bodies = any(t.lemma in _BODY for t in toks[i : i + 4])
            return f"bodies:{v}" if near_bodies else f"exchange:{v}"
        return ""
    if issue == "children":
        nums = [v for v, _ in _numbers(toks) if 2 <= v <= 100_000 and not 1990 <= v <= 2100]
        return f"list:{max(nums)}" if nums else ""
    if issue == "security_guarantees":
        text = " ".join(t.lemma for t in toks)
        if re.search(r"(article|стаття|статья) 5\b", text):
            return "article5"
        for v, i in _numbers(toks):
            if _unit_after(toks, i, _YEAR) and 1 <= v <= 100:
                return f"years:{v}"
        return ""
    return ""
