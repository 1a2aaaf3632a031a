"""Story grouping: near-duplicate reports across outlets and languages get one story id. Pure.

Two signals, each cheap and explainable:

* **Same wording** (wire copies, rewrites of one agency report): Jaccard similarity of the sets
  of word stems, where a stem is the first letters of a token after Cyrillic is transliterated
  and spelling variants folded. MinHash LSH (datasketch) finds the candidates, the exact Jaccard
  decides. Folding makes cognates (memorandum/меморандум, Donbas/Донбасс) count here too.
* **Same facts** (the same statement in Russian, Ukrainian and English): the *anchors* two
  reports share: proper names reduced to a consonant skeleton (Yermak/Ермак/Єрмак → rmk),
  numbers (30-day, 28 points, 1000 prisoners), a few multilingual concept stems (children,
  exchange, ceasefire, ...) and any concept keys the caller passes (matched actors, issues).
  Names every report carries (Putin, Zelensky, Ukraine, ...) count for less.

Only reports within `WINDOW` of each other are compared. Assignment is incremental and stable:
an item already in a story keeps it; a new item joins the story of its most similar recent
member, or starts a new story named after its own id.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import combinations

from datasketch import MinHash, MinHashLSH

from monitor.models import Analysis

WINDOW = timedelta(hours=72)
SAME_WORDING = 0.30  # stem Jaccard at or above which two reports are one story on wording alone
NEAR_WORDING = 0.25  # ... when they also share facts worth NEAR_FACTS
NEAR_FACTS = 1.5
FACTS = 3.0  # weighted shared facts needed when the wording differs (other languages, rewrites)
DAY = timedelta(hours=36)  # beyond this apart, facts alone need FACTS_APART
FACTS_APART = 4.0
SPECIFIC = 0.75  # a shared anchor this heavy (after rarity) is specific to one story
MIN_SPECIFIC = 2  # specific anchors two reports must share to be one story on facts
LINKAGE = 2  # a new member must be similar to at least 1/LINKAGE of a story's members
MAX_POSTINGS = 200  # candidates taken per anchor, newest first: bounds the work per item
MAX_CANDIDATES = 300  # candidates compared per new item, newest first
RARE_POOL = 200  # an anchor held by this share of the pool counts fully: see _rarity
_NUM_PERM = 64
_STEM = 5


@dataclass(frozen=True)
class StoryItem:
    """One report to group: its id, text (title and summary), language and first-seen time."""

    id: str
    text: str
    lang: str | None
    when: datetime
    keys: frozenset[str] = frozenset()  # concept keys, from `story_keys` of its analysis


@dataclass(frozen=True)
class _Features:
    stems: frozenset[str]
    anchors: Mapping[str, float]  # anchor -> weight of its kind, before rarity
    frames: frozenset[str]  # what kind of news: the talks, or a look-alike category
    minhash: MinHash


_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e", "ё": "e",
        "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
        "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
        "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "i",
        "ь": "", "э": "e", "ю": "iu", "я": "ia",
    }
)  # fmt: skip
# Spelling variants folded after transliteration, so Latin and Cyrillic spellings meet.
_FOLDS = (("kh", "h"), ("h", "g"), ("y", "i"), ("j", "i"), ("w", "v"), ("c", "k"), ("x", "ks"))
# Names whose spellings differ beyond folding: folded form -> canonical folded form.
_ALIASES = {"stambul": "istanbul", "tramp": "trump", "uitkof": "vitkof", "kiev": "kiiv"}
# Names nearly every report on the talks carries: they count for a quarter.
_COMMON = frozenset(
    {
        "ptn", "zlnsk", "ukrn", "ukrnn", "ukrns", "ukrnf", "rs", "rsi", "rsn", "rss", "rssk",
        "rsisk",
        "trmp", "dnld", "vldmr", "prsdn", "krml", "krmln", "kv", "msk", "mskv", "vsgtn", "nt",
        "stts", "untd", "rf", "vs", "erpn", "ksfr", "tlks", "prgvr", "pkr", "mr",
    }
)  # fmt: skip
_CONCEPTS = {
    "children": ("child", "дет", "дит", "діт"),
    "prisoners": ("prisoner", "pow", "captive", "плен", "полон"),
    "exchange": ("exchang", "swap", "обмен", "обмін"),
    "ceasefire": ("ceasefire", "truce", "перемир", "припинен", "прекращен"),
    "withdraw": ("withdraw", "вывод", "выход", "вийти", "вивед", "вивід", "выйд", "уйд", "пок"),
    "points": ("point", "пункт"),
    "list": ("list", "список", "списк"),
    "sign": ("sign", "подпис", "підпис"),
    "guarantee": ("guarantee", "гарант"),
    "bodies": ("bodies", "тел", "тіл"),
}
_WORD = re.compile(r"\w+")
_STOP = frozenset(
    {
        "the", "and", "for", "with", "that", "this", "from", "have", "has", "was", "were", "are",
        "will", "would", "said", "says", "after", "over", "about", "into", "than", "their", "they",
        "them", "its", "not", "but", "also", "been", "which", "who", "what", "when", "where",
    }
)  # fmt: skip
# Weight of one shared anchor by kind (before rarity). A claim with its specifics is the
# strongest sign of one story; a bare issue or a talks term the weakest.
_WEIGHTS = {
    "p": 1.0,  # a proper name (skeleton), from the text or the analyzer's context terms
    "n": 1.0,  # a number
    "c": 0.5,  # a multilingual concept stem
    "claim": 2.0,  # actor:stance:issue:detail with a detail
    "bare": 0.75,  # actor:stance:issue without one
    "detail": 1.0,  # the detail alone (withdraw:donetsk,luhansk), whoever states it
    "topic": 0.5,  # a talks term the analyzer matched (lemma, one language)
}
_EVIDENCE = re.compile(r"^(topic|context|look-alike (\w+)) '([^']+)'")


def fold(token: str) -> str:
    """A token transliterated to Latin with spelling variants folded (Ермак, Yermak -> iermak)."""
    t = token.casefold().translate(_TRANSLIT)
    for a, b in _FOLDS:
        t = t.replace(a, b)
    t = re.sub(r"(.)\1+", r"\1", t)  # doubled letters: Donbass/Donbas, Kellogg/Келлог
    t = re.sub(r"^ie", "e", t)  # Yevgeny/Евгений, Yermak/Ермак
    return _ALIASES.get(t, t)


def _skeleton(folded: str) -> str:
    return folded[0] + re.sub(r"[aeiou]", "", folded[1:]) if folded else ""


def _name(word: str) -> str | None:
    folded = fold(word)
    return f"p:{_skeleton(folded)[:5]}" if word[:1].isupper() and len(folded) >= 4 else None


def story_keys(analysis: Analysis) -> frozenset[str]:
    """Concept keys of one entry's analysis, for `StoryItem.keys`. Pure.

    * `claim:actor:stance:issue:detail` per claim (detail possibly empty) and `detail:DETAIL`
      for a non-empty detail: the same position reported in any language;
    * `p:NAME` for every name among the matched context and look-alike terms (Єрмак, Donetsk,
      Cambodia), as the text's own names are keyed, so a Ukrainian and an English report meet;
    * `topic:LEMMA` for each talks term matched;
    * `frame:talks` when the entry is relevant, else `frame:CATEGORY` for each look-alike
      category matched (other_negotiation, war_strikes, ...): reports of different kinds of
      news are never one story on facts alone.
    """
    keys: set[str] = set()
    for c in analysis.claims:
        keys.add(f"claim:{c.actor}:{c.stance}:{c.issue}:{c.detail}")
        if c.detail:
            keys.add(f"detail:{c.detail}")
    frames: set[str] = {"frame:talks"} if analysis.relevant else set()
    for line in analysis.evidence:
        m = _EVIDENCE.match(line)
        if not m:
            continue
        kind, category, term = m.groups()
        if kind == "topic":
            keys.add(f"topic:{' '.join(fold(w) for w in _WORD.findall(term))}")
            continue
        if category and not analysis.relevant:
            frames.add(f"frame:{category}")
        keys.update(n for w in _WORD.findall(term) if (n := _name(w)))
    return frozenset(keys | frames)


def _anchor_weight(anchor: str) -> float:
    kind, _, rest = anchor.partition(":")
    if kind == "p" and rest in _COMMON:
        return 0.25
    if kind == "claim":
        return _WEIGHTS["claim"] if not rest.endswith(":") else _WEIGHTS["bare"]
    return _WEIGHTS.get(kind, 1.0)  # a caller's own keys count as specific


@lru_cache(maxsize=8192)
def _features(item: StoryItem) -> _Features:
    text = unicodedata.normalize("NFKC", item.text).replace("ё", "е").replace("Ё", "Е")
    text = re.sub(r"[ʼ'’`]", "", text)
    stems: set[str] = set()
    anchors: set[str] = {k for k in item.keys if not k.startswith("frame:")}
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isdigit():
            if len(word) >= 2 and not (len(word) == 4 and word[:2] in ("19", "20")):
                stems.add(word)
                anchors.add(f"n:{int(word)}")
            continue
        low = word.casefold()
        if len(low) < 3 or low in _STOP:
            continue
        stems.add(fold(low)[:_STEM])
        if name := _name(word):
            anchors.add(name)
        for concept, prefixes in _CONCEPTS.items():
            if low.startswith(prefixes):
                anchors.add(f"c:{concept}")
    mh = MinHash(num_perm=_NUM_PERM, seed=1)
    for s in sorted(stems):
        mh.update(s.encode("utf-8"))
    frames = frozenset(k for k in item.keys if k.startswith("frame:"))
    return _Features(frozenset(stems), {a: _anchor_weight(a) for a in anchors}, frames, mh)


def _rarity(df: int, pool: int) -> float:
    """How much an anchor held by `df` of `pool` reports still tells: 1.0 when rare, down to 0.2
    when most reports hold it. A small pool (a first poll, a test) counts as RARE_POOL reports,
    so a few holders never make an anchor look common."""
    size = max(pool, RARE_POOL)
    if df <= 4:
        return 1.0
    return min(1.0, max(0.2, math.log(size / df) / math.log(size / 4)))


def similarity(a: _Features, b: _Features, rarity: Mapping[str, float], apart: timedelta) -> float:
    """How strongly two reports look like one story; 0.0 when they are not. Pure.

    Same wording (stem Jaccard) alone suffices; otherwise the shared anchors, each weighted by
    kind and rarity, must reach FACTS and include a specific one (a rare name or number, a
    claim with its detail); FACTS_APART when the reports are more than DAY apart. Reports of
    different kinds of news (talks vs a look-alike) join only on wording.
    """
    union = len(a.stems | b.stems)
    jaccard = len(a.stems & b.stems) / union if union else 0.0
    if jaccard >= SAME_WORDING:
        return 1.0 + jaccard
    if a.frames and b.frames and not a.frames & b.frames:
        return 0.0
    facts = 0.0
    specific = 0
    for anchor in a.anchors.keys() & b.anchors.keys():
        w = a.anchors[anchor] * rarity.get(anchor, 1.0)
        facts += w
        specific += w >= SPECIFIC
    if specific < MIN_SPECIFIC:
        return 0.0
    if jaccard >= NEAR_WORDING and facts >= NEAR_FACTS:
        return 1.0 + jaccard
    if facts >= (FACTS if apart <= DAY else FACTS_APART):
        return facts / 10
    return 0.0


def story_id(first_member: str) -> str:
    """The id of a story started by the item `first_member`: stable across polls."""
    return "s-" + hashlib.sha256(first_member.encode("utf-8")).hexdigest()[:10]


def assign_stories(
    new: Sequence[StoryItem],
    recent: Sequence[tuple[StoryItem, str]],
    *,
    window: timedelta = WINDOW,
) -> dict[str, str]:
    """Story ids for `new` items, given `recent` (item, story) pairs already assigned. Pure.

    A new item joins the story of the most similar item within `window` (recent, or new and
    already assigned in this call); otherwise it starts its own story. New items are taken in
    (when, id) order so the result does not depend on the order given. An item that is already
    in `recent` keeps its story: a story never changes under an entry. How rare an anchor is
    is counted over `recent` and `new` together.
    """
    known = {item.id: story for item, story in recent}
    todo = sorted(
        (i for i in {i.id: i for i in new}.values() if i.id not in known),
        key=lambda i: (i.when, i.id),
    )
    holders: Counter[str] = Counter()
    for feats in [_features(i) for i, _ in recent] + [_features(i) for i in todo]:
        holders.update(feats.anchors.keys())
    size = len(recent) + len(todo)
    rarity = {a: _rarity(n, size) for a, n in holders.items() if n > 4}
    pool: list[tuple[StoryItem, _Features, str]] = []
    lsh = MinHashLSH(threshold=NEAR_WORDING, num_perm=_NUM_PERM)
    by_anchor: dict[str, list[int]] = {}
    by_story: dict[str, list[int]] = {}

    def add(item: StoryItem, feats: _Features, story: str) -> None:
        idx = len(pool)
        pool.append((item, feats, story))
        lsh.insert(str(idx), feats.minhash)
        # Only specific anchors find candidates: a pair that shares nothing but common ones
        # (Putin, ceasefire) can only qualify by wording, which the LSH finds.
        for anchor, weight in feats.anchors.items():
            if weight * rarity.get(anchor, 1.0) >= SPECIFIC:
                by_anchor.setdefault(anchor, []).append(idx)
        by_story.setdefault(story, []).append(idx)

    for item, story in sorted(recent, key=lambda p: (p[0].when, p[0].id)):
        add(item, _features(item), story)
    result = {i.id: known[i.id] for i in new if i.id in known}
    for item in todo:
        feats = _features(item)
        candidates = {int(k) for k in lsh.query(feats.minhash)}
        for anchor in feats.anchors:
            # The latest holders of an anchor are the ones inside the window.
            candidates.update(by_anchor.get(anchor, ())[-MAX_POSTINGS:])
        scores: dict[str, list[float]] = {}
        # The newest candidates (pool order is time order) bound the work per item.
        for idx in sorted(candidates)[-MAX_CANDIDATES:]:
            other, other_feats, story = pool[idx]
            apart = abs(other.when - item.when)
            if apart <= window:
                scores.setdefault(story, []).append(similarity(feats, other_feats, rarity, apart))
        best: tuple[float, str] | None = None
        for story, found in sorted(scores.items()):
            # Join only when similar to a fair share of the story's members in the window, so a
            # story cannot grow by chaining through one loosely related report after another.
            members = sum(1 for i in by_story[story] if abs(pool[i][0].when - item.when) <= window)
            hits = [x for x in found if x > 0]
            if hits and len(hits) * LINKAGE >= members and (best is None or max(hits) > best[0]):
                best = (max(hits), story)
        story = best[1] if best else story_id(item.id)
        result[item.id] = story
        add(item, feats, story)
    return result


@dataclass(frozen=True)
class PairScores:
    """Pairwise agreement of a grouping with gold labels."""

    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        predicted = self.true_pos + self.false_pos
        return self.true_pos / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_pos + self.false_neg
        return self.true_pos / gold if gold else 1.0


def pairwise_scores(items: Mapping[str, str | None], assignments: Mapping[str, str]) -> PairScores:
    """Compare `assignments` (item id -> story) with gold `items` (item id -> event or None).

    A pair is gold-positive when both items share a non-null event, predicted-positive when
    both share a story. Items missing from `assignments` count as singletons.
    """
    tp = fp = fn = 0
    for a, b in combinations(sorted(items), 2):
        gold = items[a] is not None and items[a] == items[b]
        sa, sb = assignments.get(a), assignments.get(b)
        predicted = sa is not None and sa == sb
        tp += gold and predicted
        fp += predicted and not gold
        fn += gold and not predicted
    return PairScores(tp, fp, fn)
