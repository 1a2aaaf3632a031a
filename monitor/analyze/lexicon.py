"""The rules as data: load the packaged YAML lexicons, merge a user's extra terms, and build
one Aho-Corasick automaton over lemma strings.

Reads the package's `monitor/rules/*.yaml` (I/O at load time only); matching is pure.

Extra terms come from the `analysis:` section of feeds.yaml, in this shape (every key
optional; terms in any of the three languages, Cyrillic ones are added for both uk and ru)::

    analysis:
      actors:   {russia: [новий псевдонім], us: [Some Envoy]}   # actor id -> aliases
      issues:   {territory: [Pokrovsk agglomeration]}            # issue id -> terms
      relevance:
        terms:     [Vatican talks]       # topic terms (strong evidence of the talks)
        context:   [Ukrainian]           # Russia-Ukraine context terms
        lookalike: [Moldova accession]   # terms of look-alike news (count against)
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from importlib import resources
from itertools import accumulate
from operator import add, attrgetter
from typing import Any, NamedTuple

import ahocorasick
import yaml

from monitor.analyze import lexicon_cache
from monitor.analyze.text import PUNCT, Token, Tokenizer, lemmatise_term
from monitor.models import ACTORS, ISSUES

# libyaml's parser when PyYAML has it (the rules load in every parse worker): the same safe
# loader, five times faster.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Bump when the code's reading of the rules changes, so `reclassify` sees a new version.
ANALYZER_VERSION = "3"
LANGS = ("en", "uk", "ru")
RULE_FILES = ("actors.yaml", "issues.yaml", "cues.yaml", "relevance.yaml")
ROLES = (
    "demand",
    "modal",
    "propose",
    "concession",
    "ready",
    "declare",
    "rejection",
    "label",
    "deny",
)
EXTRA_KEYS = {"actors": ACTORS, "issues": ISSUES, "relevance": ("terms", "context", "lookalike")}


@dataclass(frozen=True, slots=True)
class Term:
    """What a lexicon key means: its kind (actor, issue, cue, marker name, ...) and data."""

    kind: str
    ref: str  # actor id, issue id, region, cue group index, marker name, group name
    text: str  # the term as written, for evidence
    weight: float = 0.0
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class CueGroup:
    """One group of cue words sharing a role and its options (see cues.yaml)."""

    role: str
    noun: bool = False
    predicative: bool = False
    issues: frozenset[str] = frozenset()
    negated: str = ""
    governs: bool = True
    kind: str = ""  # concessions: give (one's own) or accept (another's terms)
    reciprocal: bool = False  # with no subject, both parties are the actor
    requires_inf: bool = False  # only before an infinitive (uk/ru "має вивести")
    window: int = 0  # if set, the issue must start within this many tokens after the cue


class Match(NamedTuple):
    """A lexicon hit in a sentence: tokens [start, end) and what the term means."""

    term: Term
    start: int
    end: int
    kind: str
    ref: str


@dataclass
class Lexicon:
    """The compiled rules in force."""

    automaton: Any
    tokenizer: Tokenizer
    cue_groups: list[CueGroup]
    relevance: dict[str, float]
    version: str
    keys: int = 0
    sources: dict[str, int] = field(default_factory=dict)

    def match(self, tokens: list[Token]) -> list[Match]:
        """Every lexicon hit over a sentence's lemmas, in token order. Words with a second
        reading the lexicon knows get a second pass with that reading."""
        if not tokens:
            return []
        lemmas = list(map(_LEMMA, tokens))
        out = self._match(lemmas)
        if any(map(_ALT, tokens)):
            alts = list(map(_ALT, tokens))
            count = list(accumulate(map(bool, alts), initial=0))
            second = self._match([a or lemma for a, lemma in zip(alts, lemmas, strict=True)], count)
            if second:
                # Terms found on the first reading, by span: hashing a Term is Python code,
                # and a pair of ints is not.
                seen: dict[tuple[int, int], list[Term]] = {}
                for m in out:
                    seen.setdefault((m.start, m.end), []).append(m.term)
                out += [m for m in second if m.term not in seen.get((m.start, m.end), ())]
        # Two stable sorts with C key functions give the order of one sort by (start, -end).
        out.sort(key=_END, reverse=True)
        out.sort(key=_START)
        return out

    def _match(self, lemmas: list[str], alt_count: list[int] | None = None) -> list[Match]:
        """Hits over one reading of a sentence. Given `alt_count` (how many of the first i
        tokens have their second reading here), only hits that cover such a token: any other
        hit reads the same lemmas as the first pass, which found it already."""
        # Key " a b " starts at the space before token i, at offset starts[i]: the lengths of
        # the lemmas before it plus i spaces (summed with C iterators, no generator).
        starts = list(map(add, accumulate(map(len, lemmas), initial=0), range(len(lemmas) + 1)))
        n = len(starts)
        text = " " + " ".join(lemmas) + " "
        out: list[Match] = []
        append = out.append
        for end_char, (start_off, ntok, meanings) in self.automaton.iter(text):
            begin = end_char - start_off
            first = bisect_left(starts, begin)
            if first == n or starts[first] != begin:
                continue
            end = first + ntok
            if alt_count is not None and alt_count[end] == alt_count[first]:
                continue
            for term, kind, ref in meanings:
                append(_new_match((term, first, end, kind, ref)))
        return out


# NamedTuple's own constructor is Python code; building the tuple directly costs a third,
# and the matcher builds one per hit and meaning.
_new_match = partial(tuple.__new__, Match)
_LEMMA = attrgetter("lemma")
_ALT = attrgetter("alt")
_START = attrgetter("start")
_END = attrgetter("end")


def _rules_text() -> dict[str, bytes]:
    base = resources.files("monitor") / "rules"
    return {name: (base / name).read_bytes() for name in RULE_FILES}


def _known_positions_text() -> bytes:
    return (resources.files("monitor") / "rules" / "known_positions.yaml").read_bytes()


def rules_version(extra: Mapping[str, object] | None = None) -> str:
    """A short hash of the rules in force: packaged YAML, code version and extra terms."""
    h = hashlib.sha256(ANALYZER_VERSION.encode())
    for name, data in sorted(_rules_text().items()):
        h.update(name.encode())
        h.update(data)
    h.update(_known_positions_text())
    if extra:
        h.update(json.dumps(extra, sort_keys=True, default=str, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def check_extra(extra: object) -> list[str]:
    """Human-readable problems in a user's `analysis:` section; empty when it is usable."""
    if extra is None:
        return []
    if not isinstance(extra, Mapping):
        return ["analysis: must be a mapping with keys actors, issues, relevance"]
    problems: list[str] = []
    for key, value in extra.items():
        if key not in EXTRA_KEYS:
            problems.append(
                f"analysis.{key}: unknown key (expected one of {', '.join(EXTRA_KEYS)})"
            )
            continue
        if not isinstance(value, Mapping):
            problems.append(f"analysis.{key}: must be a mapping of name -> list of terms")
            continue
        for name, terms in value.items():
            if name not in EXTRA_KEYS[key]:
                allowed = ", ".join(EXTRA_KEYS[key])
                problems.append(f"analysis.{key}.{name}: unknown name (expected one of {allowed})")
                continue
            if not isinstance(terms, list) or not terms:
                problems.append(f"analysis.{key}.{name}: must be a non-empty list of terms")
                continue
            for i, t in enumerate(terms):
                if not isinstance(t, str) or not t.strip() or not re.search(r"\w", t):
                    problems.append(
                        f"analysis.{key}.{name}[{i}]: must be a non-empty word or phrase"
                    )
    return problems


class _Builder:
    def __init__(self) -> None:
        self.keys: dict[str, list[Term]] = {}
        self.sources: dict[str, int] = {}
        self.vocabulary: dict[str, set[str]] = {lang: set() for lang in LANGS}

    def add(self, term: Term, lang: str) -> None:
        for lemma in lemmatise_term(term.text, lang):
            if not lemma or all(p in PUNCT for p in lemma.split()):
                continue
            key = " " + lemma[:-1] if lemma.endswith("*") else " " + lemma + " "
            if not lemma.endswith("*"):
                self.vocabulary[lang].update(lemma.split())
            bucket = self.keys.setdefault(key, [])
            if term not in bucket:
                bucket.append(term)
                self.sources[term.kind] = self.sources.get(term.kind, 0) + 1

    def add_terms(self, by_lang: Mapping[str, Any], make: Any) -> None:
        for lang in LANGS:
            for text in by_lang.get(lang) or ():
                self.add(make(str(text)), lang)

    def add_any(self, texts: Iterable[object], make: Any) -> None:
        """User terms in no stated language: Latin as English, Cyrillic as both uk and ru."""
        for text in texts:
            s = str(text)
            if re.search(r"[а-яіїєґ]", s, re.IGNORECASE):
                self.add(make(s), "uk")
                self.add(make(s), "ru")
            else:
                self.add(make(s), "en")

    def build(self) -> Any:
        automaton = ahocorasick.Automaton()
        for key, terms in self.keys.items():
            ntok = len(key.strip().split(" "))
            meanings = tuple((t, t.kind, t.ref) for t in terms)
            automaton.add_word(key, (len(key) - 1, ntok, meanings))
        automaton.make_automaton()
        return automaton


def _date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class _Built(NamedTuple):
    """What building the rules produces, as the lexicon cache stores it: no caches of any
    tokenizer, nothing tied to a process."""

    automaton: Any
    vocabulary: dict[str, frozenset[str]]
    cue_groups: list[CueGroup]
    relevance: dict[str, float]
    keys: int
    sources: dict[str, int]


def load_lexicon(extra: Mapping[str, object] | None = None) -> Lexicon:
    """Load the packaged rules (reads package data) and merge `extra`; raises ValueError on a
    bad `extra` (see `check_extra`). The built lexicon comes from the cache when one was saved
    for the same rules, code and libraries, else is built and saved (see lexicon_cache.py)."""
    problems = check_extra(extra)
    if problems:
        raise ValueError("; ".join(problems))
    version = rules_version(extra)
    cache_key = _cache_key(version, extra)
    built = lexicon_cache.load(cache_key) if cache_key else None
    if not isinstance(built, _Built):  # none, or an object of another shape
        built = _build(extra)
        if cache_key:
            lexicon_cache.save(cache_key, built)
    return Lexicon(
        automaton=built.automaton,
        tokenizer=Tokenizer(dict(built.vocabulary)),
        cue_groups=built.cue_groups,
        relevance=built.relevance,
        version=version,
        keys=built.keys,
        sources=built.sources,
    )


def _cache_key(version: str, extra: Mapping[str, object] | None) -> str | None:
    """The lexicon cache's key for the rules `version` with `extra` (None: no cache)."""
    return lexicon_cache.key(version, json.dumps(extra or {}, default=str, ensure_ascii=False))


def _build(extra: Mapping[str, object] | None) -> _Built:
    """Build the rules and `extra` (checked) into a lexicon's parts: reads package data,
    lemmatises every term (pymorphy3 for uk/ru)."""
    docs = {name: yaml.load(data, Loader=_YAML_LOADER) for name, data in _rules_text().items()}
    b = _Builder()

    actors = docs["actors.yaml"]
    for actor, by_lang in actors["actors"].items():
        b.add_terms(by_lang, lambda t, a=actor: Term("actor", a, t))
    for role in actors.get("roles") or ():
        a, lo, hi = role["actor"], _date(role.get("from")), _date(role.get("until"))
        b.add_terms(role, lambda t, a=a, lo=lo, hi=hi: Term("actor", a, t, 0.0, lo, hi))
    b.add_terms(actors.get("reciprocal") or {}, lambda t: Term("reciprocal", "both", t))
    for author, by_lang in (actors.get("plans") or {}).items():
        b.add_terms(by_lang, lambda t, a=author: Term("plan_author", a, t))

    issues = docs["issues.yaml"]
    for issue, by_lang in issues["issues"].items():
        b.add_terms(by_lang, lambda t, i=issue: Term("issue", i, t))
    for region, by_lang in issues["regions"].items():
        b.add_terms(by_lang, lambda t, r=region: Term("issue", "territory", t))
        b.add_terms(by_lang, lambda t, r=region: Term("region", r, t))
    for kind, by_lang in (issues.get("military_limits_pairs") or {}).items():
        b.add_terms(by_lang, lambda t, k=kind: Term(f"mil_{k}", k, t))
    for action, by_lang in issues["territory_actions"].items():
        b.add_terms(by_lang, lambda t, a=action: Term("tact", a, t))
    for kind, by_lang in issues["ceasefire_kinds"].items():
        b.add_terms(by_lang, lambda t, k=kind: Term("ckind", k, t))
    for days, by_lang in issues["durations"].items():
        b.add_terms(by_lang, lambda t, d=str(days): Term("duration", d, t))

    cues = docs["cues.yaml"]
    groups: list[CueGroup] = []
    for g in cues["cues"]:
        if g["role"] not in ROLES:
            raise ValueError(f"cues.yaml: unknown role {g['role']!r}")
        group = CueGroup(
            role=g["role"],
            noun=bool(g.get("noun")),
            predicative=bool(g.get("predicative")),
            issues=frozenset(g.get("issues") or ()),
            negated=str(g.get("negated") or ""),
            governs=bool(g.get("governs", True)),
            kind=str(g.get("kind") or ""),
            reciprocal=bool(g.get("reciprocal")),
            requires_inf=bool(g.get("requires_inf")),
            window=int(g.get("window") or 0),
        )
        idx = str(len(groups))
        groups.append(group)
        b.add_terms(g, lambda t, i=idx: Term("cue", i, t))
    for name, by_lang in cues["markers"].items():
        b.add_terms(by_lang, lambda t, n=name: Term(n, n, t))

    rel = docs["relevance.yaml"]
    for group in rel["topic"]:
        w = float(group["weight"])
        b.add_terms(group, lambda t, w=w: Term("topic", "topic", t, w))
    b.add_terms(rel["context"], lambda t: Term("context", "context", t))
    b.add_terms(rel.get("envoys") or {}, lambda t: Term("envoy", "envoy", t))
    for group in rel["lookalike"]:
        w, n = float(group["weight"]), str(group["name"])
        b.add_terms(group, lambda t, w=w, n=n: Term("lookalike", n, t, w))

    strong = max(float(g["weight"]) for g in rel["topic"])
    look_w = max(float(g["weight"]) for g in rel["lookalike"])
    for key, value in (extra or {}).items():
        assert isinstance(value, Mapping)
        for name, terms in value.items():
            if key == "actors":
                b.add_any(terms, lambda t, a=name: Term("actor", a, t))
            elif key == "issues":
                b.add_any(terms, lambda t, i=name: Term("issue", i, t))
            elif name == "terms":
                b.add_any(terms, lambda t: Term("topic", "topic", t, strong))
            elif name == "context":
                b.add_any(terms, lambda t: Term("context", "context", t))
            else:
                b.add_any(terms, lambda t: Term("lookalike", "user", t, look_w))

    params = {
        k: float(rel[k])
        for k in (
            "threshold",
            "title_weight",
            "claim_weight",
            "position_weight",
            "max_lookalike",
            "max_topic",
        )
    }
    return _Built(
        automaton=b.build(),
        vocabulary={lang: frozenset(words) for lang, words in b.vocabulary.items()},
        cue_groups=groups,
        relevance=params,
        keys=len(b.keys),
        sources=b.sources,
    )


def load_known_positions() -> list[tuple[str, str, str, str, date]]:
    """(actor, stance, issue, detail, date) from known_positions.yaml (reads package data)."""
    doc = yaml.load(_known_positions_text(), Loader=_YAML_LOADER)
    out: list[tuple[str, str, str, str, date]] = []
    for p in doc["positions"]:
        d = _date(p["date"])
        assert d is not None
        out.append(
            (str(p["actor"]), str(p["stance"]), str(p["issue"]), str(p.get("detail") or ""), d)
        )
    return out
