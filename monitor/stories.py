"""Story grouping: near-duplicate reports across outlets and languages get one story id. Pure.

Two signals, each cheap and explainable:

* **Same wording** (wire copies, rewrites of one agency report): Jaccard similarity of the sets
  of word stems, where a stem is the first letters of a token after Cyrillic is transliterated
  and spelling variants folded. An inverted index over the stems finds the candidates, each
  stem's newest holders, and their exact Jaccard decides (the shared stems counted as bits).
  Folding makes cognates (memorandum/меморандум, Donbas/Донбасс) count here too.
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
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain, combinations
from sys import intern

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
MAX_POSTINGS = 200  # candidates taken per anchor or stem, newest first: bounds the work per item
MAX_CANDIDATES = 300  # candidates compared per new item, newest first
RARE_POOL = 200  # an anchor held by this share of the pool counts fully: see _rarity
_STEM = 5


@dataclass(frozen=True)
class StoryItem:
    """One report to group: its id, text (title and summary), language and first-seen time."""

    id: str
    text: str
    lang: str | None
    when: datetime
    keys: frozenset[str] = frozenset()  # concept keys, from `story_keys` of its analysis
    # Its features as stored earlier (`decode_features`), instead of deriving them again.
    features: _Features | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Features:
    stems: frozenset[str]
    anchors: Mapping[str, float]  # anchor -> weight of its kind, before rarity
    frames: frozenset[str]  # what kind of news: the talks, or a look-alike category


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
_APOSTROPHES = re.compile(r"[ʼ'’`]")  # inside words (Мар’їнка, don't): dropped, not split on
_DOUBLED = re.compile(r"(.)\1+")
_NO_VOWELS = str.maketrans("", "", "aeiou")
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
    t = _DOUBLED.sub(r"\1", t)  # doubled letters: Donbass/Donbas, Kellogg/Келлог
    if t.startswith("ie"):  # Yevgeny/Евгений, Yermak/Ермак
        t = t[1:]
    return _ALIASES.get(t, t)


def _skeleton(folded: str) -> str:
    return folded[0] + folded[1:].translate(_NO_VOWELS) if folded else ""


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
        found, frame = _evidence_keys(line)
        keys.update(found)
        if frame and not analysis.relevant:
            frames.add(frame)
    return frozenset(keys | frames)


@lru_cache(maxsize=1 << 14)
def _evidence_keys(line: str) -> tuple[tuple[str, ...], str | None]:
    """The keys of one line of relevance evidence, and the look-alike frame it names (if any).
    Cached: entries repeat the same few hundred lines."""
    m = _EVIDENCE.match(line)
    if not m:
        return (), None
    kind, category, term = m.groups()
    if kind == "topic":
        return (f"topic:{' '.join(fold(w) for w in _WORD.findall(term))}",), None
    names = tuple(n for w in _WORD.findall(term) if (n := _name(w)))
    return names, f"frame:{category}" if category else None


@lru_cache(maxsize=1 << 16)
def _anchor_weight(anchor: str) -> float:
    """The weight of a shared `anchor` by its kind, before rarity. Cached: reports repeat them."""
    kind, _, rest = anchor.partition(":")
    if kind == "p" and rest in _COMMON:
        return 0.25
    if kind == "claim":
        return _WEIGHTS["claim"] if not rest.endswith(":") else _WEIGHTS["bare"]
    return _WEIGHTS.get(kind, 1.0)  # a caller's own keys count as specific


@lru_cache(maxsize=1 << 16)
def _word(word: str) -> tuple[str | None, tuple[str, ...]]:
    """The stem (None: the word does not count) and the anchors of one word of a text.

    Cached: reports repeat their words, and folding them is most of the cost of the features.
    A number is its own stem; a year (19xx, 20xx) or a single digit tells nothing. Any script's
    decimal digits are a number (int() reads them); other digit-like signs are not.
    """
    if word.isdecimal():
        if len(word) >= 2 and not (len(word) == 4 and word[:2] in ("19", "20")):
            return word, (f"n:{int(word)}",)
        return None, ()
    low = word.casefold()
    if len(low) < 3 or low in _STOP:
        return None, ()
    anchors = [
        f"c:{concept}" for concept, prefixes in _CONCEPTS.items() if low.startswith(prefixes)
    ]
    if name := _name(word):
        anchors.append(name)
    return fold(low)[:_STEM], tuple(anchors)


# Bump when what `_features` derives from an item changes: features stored under another
# version no longer match `features_digest` and are derived again.
FEATURES_VERSION = "1"


def features_digest(item: StoryItem) -> str:
    """A digest of everything `item`'s features are derived from (text, language, keys, the
    code's FEATURES_VERSION): features stored with it are valid while it matches. Pure."""
    h = hashlib.blake2b(digest_size=12)
    for part in (FEATURES_VERSION, item.text, item.lang or "", *sorted(item.keys)):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


# Stored features: stems, anchors and frames, each list joined by the unit separator and the
# three by the record separator (control characters, which no stem or key holds). Splitting is
# several times faster than JSON, and a poll reads thousands.
_UNIT, _RECORD = "\x1f", "\x1e"


def encode_features(item: StoryItem) -> str | None:
    """`item`'s features in the stored form (derives them); None when a key holds one of the
    separators (a user's own term could), and such an item's features are not stored. Pure."""
    feats = _features_of(item)
    parts = (sorted(feats.stems), sorted(feats.anchors), sorted(feats.frames))
    if any(_UNIT in x or _RECORD in x for x in chain.from_iterable(parts)):
        return None
    return _RECORD.join(_UNIT.join(p) for p in parts)


def decode_features(data: str) -> _Features:
    """Features stored by `encode_features`, for `StoryItem.features`; ValueError when `data`
    is not what `encode_features` writes. Pure."""
    # Interned: thousands of reports share the same few thousand stems and anchors, and a copy
    # of each per report cost 25 MB at 6,000 reports (derived features share `_word`'s).
    parts = [[intern(x) for x in p.split(_UNIT)] if p else [] for p in data.split(_RECORD)]
    if len(parts) != 3 or any(not x for x in chain.from_iterable(parts)):
        raise ValueError("stored story features unreadable")
    stems, anchors, frames = parts
    return _Features(frozenset(stems), {a: _anchor_weight(a) for a in anchors}, frozenset(frames))


def _features_of(item: StoryItem) -> _Features:
    return item.features if item.features is not None else _features(item)


@lru_cache(maxsize=8192)
def _features(item: StoryItem) -> _Features:
    text = unicodedata.normalize("NFKC", item.text).replace("ё", "е").replace("Ё", "Е")
    stems: set[str] = set()
    anchors: set[str] = {k for k in item.keys if not k.startswith("frame:")}
    for word in set(_WORD.findall(_APOSTROPHES.sub("", text))):
        stem, found = _word(word)
        if stem is not None:
            stems.add(stem)
        anchors.update(found)
    frames = frozenset(k for k in item.keys if k.startswith("frame:"))
    return _Features(frozenset(stems), {a: _anchor_weight(a) for a in anchors}, frames)


def _rarity(df: int, pool: int) -> float:
    """How much an anchor held by `df` of `pool` reports still tells: 1.0 when rare, down to 0.2
    when most reports hold it. A small pool (a first poll, a test) counts as RARE_POOL reports,
    so a few holders never make an anchor look common."""
    size = max(pool, RARE_POOL)
    if df <= 4:
        return 1.0
    return min(1.0, max(0.2, math.log(size / df) / math.log(size / 4)))


def _jaccard(shared: int, size_a: int, size_b: int) -> float:
    """|A ∩ B| / |A ∪ B| from the sizes alone: the union is never built."""
    return shared / (size_a + size_b - shared) if shared else 0.0


def similarity(a: _Features, b: _Features, rarity: Mapping[str, float], apart: timedelta) -> float:
    """How strongly two reports look like one story; 0.0 when they are not. Pure.

    Same wording (stem Jaccard) alone suffices; otherwise the shared anchors, each weighted by
    kind and rarity, must reach FACTS and include a specific one (a rare name or number, a
    claim with its detail); FACTS_APART when the reports are more than DAY apart. Reports of
    different kinds of news (talks vs a look-alike) join only on wording.
    """
    jaccard = _jaccard(len(a.stems & b.stems), len(a.stems), len(b.stems))
    return _similarity(a, b, jaccard, rarity, apart)


def _similarity(
    a: _Features, b: _Features, jaccard: float, rarity: Mapping[str, float], apart: timedelta
) -> float:
    """`similarity` given the stem Jaccard of the two, which the candidate search has computed
    already."""
    if jaccard >= SAME_WORDING:
        return 1.0 + jaccard
    if a.frames and b.frames and not a.frames & b.frames:
        return 0.0
    weights = [a.anchors[x] * rarity.get(x, 1.0) for x in a.anchors.keys() & b.anchors.keys()]
    if sum(w >= SPECIFIC for w in weights) < MIN_SPECIFIC:
        return 0.0
    facts = math.fsum(weights)  # exactly rounded: the same in any order of the shared anchors
    if jaccard >= NEAR_WORDING and facts >= NEAR_FACTS:
        return 1.0 + jaccard
    if facts >= (FACTS if apart <= DAY else FACTS_APART):
        return facts / 10
    return 0.0


def story_id(first_member: str) -> str:
    """The id of a story started by the item `first_member`: stable across polls."""
    return "s-" + hashlib.sha256(first_member.encode("utf-8")).hexdigest()[:10]


@dataclass
class _Pool:
    """The reports new items are compared with, in the order added (time order), and the
    postings that find a new item's candidates among them.

    Sets are int bit masks, so that the work per candidate is a few operations in C: a set of
    pool positions has bit `idx` for entry `idx`, a set of stems bit `stem_bits[stem]`. A
    vocabulary every report shares makes the postings long; they are never walked one by one.
    """

    rarity: Mapping[str, float]
    stem_bits: Mapping[str, int]  # stem -> its bit in a `stem_mask`: only stems two reports hold
    entries: list[tuple[StoryItem, _Features, str]] = field(default_factory=list)
    masks: list[int] = field(default_factory=list)  # entry -> `stem_mask` of its stems
    sizes: list[int] = field(default_factory=list)  # entry -> its number of stems
    by_stem: dict[str, list[int]] = field(default_factory=dict)
    by_anchor: dict[str, list[int]] = field(default_factory=dict)
    stem_holders: dict[str, int] = field(default_factory=dict)  # by_stem, as position sets
    anchor_holders: dict[str, int] = field(default_factory=dict)  # by_anchor, as position sets
    whens: dict[str, list[datetime]] = field(default_factory=dict)  # story -> members, sorted

    @classmethod
    def of(cls, reports: Sequence[_Features]) -> _Pool:
        """An empty pool for `reports`: how rare each anchor is among them, and a bit for each
        stem two of them hold (a stem no other report holds is never shared), the most held
        first, so that the masks stay short when the vocabulary is large."""
        anchors = Counter(chain.from_iterable(f.anchors.keys() for f in reports))
        stems = Counter(chain.from_iterable(f.stems for f in reports)).most_common()
        return cls(
            {a: _rarity(n, len(reports)) for a, n in anchors.items() if n > 4},
            {stem: bit for bit, (stem, n) in enumerate(stems) if n > 1},
        )

    def stem_mask(self, stems: frozenset[str]) -> int:
        """`stems` as bits: two reports share (a & b).bit_count() stems."""
        mask = 0
        for stem in stems:
            if (bit := self.stem_bits.get(stem)) is not None:
                mask |= 1 << bit
        return mask

    def add(self, item: StoryItem, feats: _Features, story: str) -> None:
        idx = len(self.entries)
        self.entries.append((item, feats, story))
        self.masks.append(self.stem_mask(feats.stems))
        self.sizes.append(len(feats.stems))
        bit = 1 << idx
        for stem in feats.stems:
            if stem in self.stem_bits:
                self.by_stem.setdefault(stem, []).append(idx)
                self.stem_holders[stem] = self.stem_holders.get(stem, 0) | bit
        # Only specific anchors find candidates: a pair that shares nothing but common ones
        # (Putin, ceasefire) can only qualify by wording, which the stems find.
        for anchor, weight in feats.anchors.items():
            if weight * self.rarity.get(anchor, 1.0) >= SPECIFIC:
                self.by_anchor.setdefault(anchor, []).append(idx)
                self.anchor_holders[anchor] = self.anchor_holders.get(anchor, 0) | bit
        insort(self.whens.setdefault(story, []), item.when)

    @staticmethod
    def newest_holders(
        postings: Mapping[str, list[int]], holders: Mapping[str, int], keys: Iterable[str]
    ) -> int:
        """The newest MAX_POSTINGS holders of any of `keys`, as a set of pool positions, given
        the `postings` of each key and the same as a set, `holders`."""
        found = 0
        for key in keys:
            held = postings.get(key)
            if held is None:
                continue
            bits = holders[key]
            if len(held) > MAX_POSTINGS:
                cut = held[-MAX_POSTINGS]
                bits = bits >> cut << cut  # without the older holders
            found |= bits
        return found

    def candidates(self, feats: _Features) -> Iterator[tuple[int, float]]:
        """The reports worth comparing with `feats`, newest first, each with its stem Jaccard:
        among the newest MAX_POSTINGS holders of each of its stems, those whose Jaccard reaches
        NEAR_WORDING; among those of each of its specific anchors, all. The newest
        MAX_CANDIDATES of them (pool order is time order)."""
        wording = self.newest_holders(self.by_stem, self.stem_holders, feats.stems)
        anchored = self.newest_holders(self.by_anchor, self.anchor_holders, feats.anchors)
        either = wording | anchored
        if not either:
            return
        # Character j of these strings is pool position `top - j`: scanning them is newest first.
        top = either.bit_length() - 1
        scan = format(either, "b")
        is_anchored = format(anchored, "b").zfill(top + 1)
        mask, size = self.stem_mask(feats.stems), len(feats.stems)
        masks, sizes = self.masks, self.sizes
        left = MAX_CANDIDATES
        j = scan.find("1")
        while j >= 0:
            idx = top - j
            shared = (mask & masks[idx]).bit_count()
            jaccard = shared / (size + sizes[idx] - shared) if shared else 0.0  # _jaccard, inline
            # A position not anchored holds a stem of `feats`: its Jaccard decides.
            if jaccard >= NEAR_WORDING or is_anchored[j] == "1":
                yield idx, jaccard
                left -= 1
                if not left:
                    return  # older ones cannot be among the newest MAX_CANDIDATES candidates
            j = scan.find("1", j + 1)

    def members(self, story: str, when: datetime, window: timedelta) -> int:
        """How many of a story's members are within `window` of `when`."""
        whens = self.whens[story]
        return bisect_right(whens, when + window) - bisect_left(whens, when - window)

    def story_for(self, item: StoryItem, feats: _Features, window: timedelta) -> str | None:
        """The story `item` joins: that of its most similar candidate within `window`, among
        the stories it is similar to a fair share of. None: no such story."""
        hits: dict[str, list[float]] = {}
        for idx, jaccard in self.candidates(feats):
            other, other_feats, story = self.entries[idx]
            apart = abs(other.when - item.when)
            if apart > window:
                continue
            if jaccard >= SAME_WORDING:  # _similarity's first test, inline: most pairs stop here
                hits.setdefault(story, []).append(1.0 + jaccard)
            elif score := _similarity(feats, other_feats, jaccard, self.rarity, apart):
                hits.setdefault(story, []).append(score)
        best: tuple[float, str] | None = None
        for story, found in sorted(hits.items()):
            top = max(found)
            if best is not None and top <= best[0]:
                continue
            # Join only when similar to a fair share of the story's members in the window, so a
            # story cannot grow by chaining through one loosely related report after another.
            if len(found) * LINKAGE >= self.members(story, item.when, window):
                best = (top, story)
        return best[1] if best else None


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
    todo = [
        (i, _features_of(i))
        for i in sorted(
            (i for i in {i.id: i for i in new}.values() if i.id not in known),
            key=lambda i: (i.when, i.id),
        )
    ]
    earlier = [
        (item, _features_of(item), story)
        for item, story in sorted(recent, key=lambda p: (p[0].when, p[0].id))
    ]
    pool = _Pool.of([f for _, f, _ in earlier] + [f for _, f in todo])
    for item, feats, story in earlier:
        pool.add(item, feats, story)
    result = {i.id: known[i.id] for i in new if i.id in known}
    for item, feats in todo:
        joined = pool.story_for(item, feats, window)
        story = story_id(item.id) if joined is None else joined
        result[item.id] = story
        pool.add(item, feats, story)
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
