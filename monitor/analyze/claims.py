"""Claim extraction: demands, concessions and rejections, with slot filling and filters.

Pure. Input: the prepared sentences of one entry (tokens and lexicon hits); output: claims,
each with the reasons that produced it. The steps follow domain/negotiations.md:

1. Cues are read left to right. A verb cue opens a *scope* (to the next clause boundary);
   cues inside it are its content ("demanded that Kyiv *withdraw*", "rejected the *demand*")
   rather than new claims. "In exchange for" inside a scope holds the counter-part.
2. Filters: recaps (T5) and questions (T10) state no claim; a conditional in the sentence
   (T3) drops its cues; negation (T1) turns a concession into a rejection and drops a
   demand; a denial (T7) drops what it embeds; a plan frame (T4) makes every term a demand
   of the plan's author; hedged sourcing (T8) is kept with a reason.
3. Slots: actor = subject of the cue (the nearest preceding actor that can be a subject:
   nominative in uk/ru, not after a preposition); for "X must ..." and "... is unacceptable"
   the speaker of the attribution frame, else the entry's speaker. Issues = issue terms in the
   cue's scope, else before it in the clause, else the title's or the next sentence's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from monitor.analyze.detail import detail_for
from monitor.analyze.lexicon import CueGroup, Lexicon, Match, Term
from monitor.analyze.text import DAT, GEN, HYPH, INF, INS, NOM, PAST, POSS, PREP, UPPER, Token
from monitor.models import Claim

SCOPE_MAX = 40  # tokens: how far a cue's object may reach
PLAN_WINDOW = 12  # tokens between a plan noun and the verb that states its terms
NEG_WINDOW = 3  # tokens before a cue in which a negation applies
SPEAKER_WINDOW = 8
PRONOUNS = frozenset(
    [
        "he",
        "she",
        "they",
        "it",
        "we",
        "i",
        "він",
        "вона",
        "вони",
        "воно",
        "ми",
        "я",
        "он",
        "она",
        "они",
        "оно",
        "мы",
    ]
)
CONJ = frozenset({"and", "і", "та", "й", "и"})
FIRST_PERSON = frozenset({"we", "i", "ми", "я", "мы"})
COMPLEMENTIZERS = frozenset({"that", "що", "что", ",", ":", "-", "як", "как", "чтобы", "щоб"})
DETERMINERS = frozenset({"a", "an", "the", "its", "his", "their"})
CLAUSE_PUNCT = frozenset({";", ":", "?", "!"})
# Which roles a governing cue absorbs as its content (they start no claim of their own).
ABSORBS = {
    "demand": {"concession", "ready", "declare", "rejection", "propose"},
    "modal": {"concession", "ready", "declare", "rejection", "propose"},
    "propose": {"concession", "ready", "declare"},
    "concession": {"concession", "declare"},
    "ready": {"concession", "declare", "propose"},
    "declare": {"concession"},
    "rejection": {"demand", "modal", "propose", "concession", "ready", "declare"},
    "label": {"demand", "modal", "propose", "concession", "ready", "declare", "rejection"},
    "deny": {"demand", "modal", "propose", "concession", "ready", "declare", "rejection", "deny"},
}
CONDITIONS = frozenset(
    {"condition", "conditions", "precondition", "prerequisite", "умова", "передумова"}
    | {"условие", "предусловие", "предварительное условие"}
)
SPEECH_INTROS = frozenset({"according", "за", "по"})
TOPIC_WINDOW = 6  # tokens after "the issue of", "discussed" in which a cue is only a topic
ACCEPTED_WINDOW = 12  # tokens after an accepted proposal that hold its terms
EXCHANGE_PURPOSE = frozenset({"for", "заради", "ради"})


@dataclass
class ActorMention:
    """An actor named in a sentence (a reciprocal "the sides" names both parties)."""

    actors: tuple[str, ...]
    start: int
    end: int
    flags: int
    prep_before: bool
    text: str
    reciprocal: bool = False


@dataclass
class Sentence:
    """One sentence with everything the extractor needs; built by `prepare`."""

    index: int
    text: str
    tokens: list[Token]
    matches: list[Match]
    is_title: bool = False
    # `matches` by kind, each in sentence order, none hidden by a blocker (relevance counts
    # them all). Read-only: `markers` may share its lists.
    hits: dict[str, list[Match]] = field(default_factory=dict)
    historical: str = ""  # why the sentence is background, or ""
    actors: list[ActorMention] = field(default_factory=list)
    issues: list[Match] = field(default_factory=list)
    cues: list[Match] = field(default_factory=list)
    markers: dict[str, list[Match]] = field(default_factory=dict)
    speaker: ActorMention | None = None
    notes: list[str] = field(default_factory=list)

    def marked(self, name: str) -> list[Match]:
        return self.markers.get(name, [])


def _contained(m: Match, others: list[Match]) -> bool:
    size = m.end - m.start
    for o in others:  # a plain loop: no generator to set up for these short lists
        if o.start <= m.start and m.end <= o.end and o.end - o.start > size and o is not m:
            return True
    return False


def _outermost(ms: list[Match]) -> list[Match]:
    """`ms` without the hits that a longer one among them contains (a new list)."""
    if len(ms) < 2:
        return list(ms)
    return [m for m in ms if not _contained(m, ms)]


def _overlapped(m: Match, blockers: list[Match]) -> bool:
    """A blocker phrase ("press conference", "as a condition") hides shorter hits inside it."""
    return any(
        b.start <= m.start < b.end and (m.start > b.start or (m.end - m.start) < (b.end - b.start))
        for b in blockers
    )


# Markers that, when longer, hide a cue inside them ("stopped short of", "in exchange for").
_HIDING = ("negation", "exchange", "scope_end", "conditional", "recap", "recap_start")
# Markers that a longer cue hides ("only if" is a demand, not a conditional).
_HIDDEN_BY_CUES = ("conditional", "scope_end", "negation", "purpose", "speech")
# Kinds with a slot of their own in `Sentence`; every other kind is a marker.
_SLOTS = frozenset({"cue", "issue", "actor", "reciprocal"})


_MIL_ISSUE = Term("issue", "military_limits", "army size")


def _by_kind(matches: list[Match]) -> dict[str, list[Match]]:
    """Hits grouped by kind, each group in sentence order, groups in order of first hit."""
    kinds: dict[str, list[Match]] = {}
    for m in matches:
        group = kinds.get(m.kind)
        if group is None:
            kinds[m.kind] = [m]
        else:
            group.append(m)
    return kinds


def _army_caps(tokens: list[Token], matches: list[Match]) -> list[Match]:
    """Army caps in free word order: "cap Ukraine's army at 600,000", "ЗСУ до 800 тисяч"."""
    forces = [m for m in matches if m.kind == "mil_force"]
    if not forces:
        return []
    limits = [m for m in matches if m.kind == "mil_limit"]
    out: list[Match] = []
    for f in forces:
        lo, hi = max(0, f.start - 4), min(len(tokens), f.end + 4)
        near = [m for m in limits if lo <= m.start < hi]
        big = [i for i in range(lo, hi) if _big_number(tokens, i)]
        if near or big:
            start = min([f.start] + [m.start for m in near] + big)
            end = max([f.end] + [m.end for m in near] + [i + 1 for i in big])
            out.append(Match(_MIL_ISSUE, start, end, "issue", "military_limits"))
    return out


def _big_number(tokens: list[Token], i: int) -> bool:
    lemma = tokens[i].lemma
    if not lemma[:1].isdigit():
        return False
    digits = lemma.rstrip("k").replace(".", "").replace(",", "")
    if not digits.isdigit():
        return False
    value = int(digits) * (1000 if lemma.endswith("k") else 1)
    nxt = tokens[i + 1].lemma if i + 1 < len(tokens) else ""
    if nxt.startswith(("thousand", "тис", "тыс")):
        value *= 1000
    return 10_000 <= value <= 5_000_000 and not 1990 <= value <= 2100


def prepare(
    index: int,
    text: str,
    tokens: list[Token],
    matches: list[Match],
    published: date | None,
    is_title: bool,
) -> Sentence:
    """Sort one sentence's lexicon hits into actors, issues, cues and markers.

    One pass groups the hits by kind; each rule below then reads only its own kinds, and
    skips its filter when there is nothing it could filter."""
    s = Sentence(index, text, tokens, matches, is_title)
    s.hits = kinds = _by_kind(matches)
    kept = matches
    blockers = kinds.get("blocker")
    if blockers:
        kept = [m for m in matches if m.kind == "blocker" or not _overlapped(m, blockers)]
        kinds = _by_kind(kept)
    issues = kinds.get("issue", [])
    if "mil_force" in kinds:
        issues = issues + _army_caps(tokens, kept)
    s.issues = _outermost(issues)
    cues = kinds.get("cue")
    if cues:
        hiding = [m for kind in _HIDING for m in kinds.get(kind, ())]
        if len(cues) > 1 or hiding:
            cues = [m for m in cues if not _contained(m, cues) and not _contained(m, hiding)]
        seen: set[tuple[int, int]] = set()
        for m in cues:
            if (m.start, m.end) not in seen:
                seen.add((m.start, m.end))
                s.cues.append(m)
    for kind, ms in kinds.items():
        if kind in _SLOTS:
            continue
        if s.cues and kind in _HIDDEN_BY_CUES:
            ms = [m for m in ms if not _contained(m, s.cues)]
            if not ms:
                continue
        s.markers[kind] = ms
    if "reciprocal" in kinds:
        actor_hits = [m for m in kept if m.kind in ("actor", "reciprocal")]
    else:
        actor_hits = kinds.get("actor", [])
    actor_hits = _outermost(actor_hits)
    if s.issues:
        # "drop the NATO bid", "Russian as a state language": the issue wins over the actor.
        actor_hits = [
            m
            for m in actor_hits
            if not any(i.start <= m.start and m.end <= i.end for i in s.issues)
        ]
    for m in actor_hits:
        t = m.term
        if published is not None and (
            (t.valid_until is not None and published > t.valid_until)
            or (t.valid_from is not None and published < t.valid_from)
        ):
            s.notes.append(f"'{t.text}' is not {t.ref} on {published} (role ended or not begun)")
            continue
        actors = ("russia", "ukraine") if m.kind == "reciprocal" else (m.ref,)
        if s.actors and s.actors[-1].start == m.start and s.actors[-1].end == m.end:
            prev = s.actors[-1]
            prev.actors = tuple(dict.fromkeys(prev.actors + actors))
            continue
        flags = 0
        for tok in tokens[m.start : m.end]:
            flags |= tok.flags
        prep = m.start > 0 and bool(tokens[m.start - 1].flags & PREP)
        s.actors.append(
            ActorMention(actors, m.start, m.end, flags, prep, t.text, m.kind == "reciprocal")
        )
    return s


def find_speaker(s: Sentence, last_speaker: ActorMention | None, lang: str) -> ActorMention | None:
    """The speaker of the sentence's attribution frame ("X said", "заявив X", "according to X")."""
    for m in s.marked("speech"):
        intro = s.tokens[m.start].lemma in ("according", "за", "по")
        if not intro:
            for a in reversed(s.actors):
                if a.end > m.start or a.start < m.start - SPEAKER_WINDOW:
                    continue
                between = s.tokens[a.end : m.start]
                if any(t.surface in COMPLEMENTIZERS or t.surface == '"' for t in between):
                    break
                if lang != "en" and not a.flags & NOM:
                    continue
                return a
            if m.start > 0 and s.tokens[m.start - 1].lemma in PRONOUNS and last_speaker:
                return last_speaker
        after = [a for a in s.actors if m.end <= a.start <= m.end + SPEAKER_WINDOW]
        if not after:
            continue
        direct = not any(t.surface in COMPLEMENTIZERS for t in s.tokens[m.end : after[0].start])
        if direct and (lang != "en" or _closes_clause(s, after[0])):
            return after[0]
    return None


def _closes_clause(s: Sentence, a: ActorMention) -> bool:
    """English inversion ("..., said Umerov."): the name ends the clause; in "says Ukraine
    may have to ..." it begins a new one."""
    for tok in s.tokens[a.end : a.end + 8]:
        if tok.surface in (",", ".", ";", ":", '"'):
            return True
        if tok.lemma in ("will", "would", "may", "must", "can", "be", "have", "had"):
            return False
    return a.end + 8 >= len(s.tokens) or a.end == len(s.tokens)


def title_speaker(s: Sentence) -> ActorMention | None:
    """ "Zelensky: ..." or "... - Yermak" in a headline."""
    toks = s.tokens
    for i, tok in enumerate(toks[:6]):
        if tok.surface == ":":
            cands = [a for a in s.actors if a.end <= i]
            if cands:
                return cands[-1]
            break
    for i in range(len(toks) - 1, max(len(toks) - 7, 0), -1):
        if toks[i].surface in ("-", ":"):
            cands = [a for a in s.actors if a.start > i]
            if cands:
                return cands[0]
            break
    return None


@dataclass
class Governor:
    cue: Match
    group: CueGroup
    scope_end: int
    absorbed: list[tuple[Match, CueGroup, bool]] = field(default_factory=list)
    exchange_at: int | None = None
    negated: bool = False
    merged_issues: list[Match] = field(default_factory=list)
    synthetic: bool = False  # a plan frame's verb acting as a demand
    frame_start: int = 0  # for a plan frame: where its terms begin
    actors: tuple[str, ...] = ()  # resolved actor(s), once known


@dataclass
class Context:
    """What the entry has said so far: speakers and subjects for pronouns and modals."""

    lexicon: Lexicon
    lang: str
    title_speaker: ActorMention | None = None
    last_speaker: ActorMention | None = None
    last_subject: ActorMention | None = None
    plan_author: str | None = None
    title_issues: list[str] = field(default_factory=list)
    # Positions stated but filtered (conditional, question, background): still evidence
    # that the entry is about the talks.
    filtered_positions: int = 0


def _scope_end(s: Sentence, after: int) -> int:
    end = min(len(s.tokens), after + SCOPE_MAX)
    for m in s.marked("scope_end"):
        if after <= m.start < end:
            end = m.start
    for i in range(after, end):
        if s.tokens[i].surface in CLAUSE_PUNCT:
            return i
    return end


def _negated(s: Sentence, cue: Match) -> bool:
    for m in s.marked("negation"):
        if cue.start - NEG_WINDOW <= m.start and m.end <= cue.start:
            between = s.tokens[m.end : cue.start]
            if not any(t.surface in CLAUSE_PUNCT or t.surface == "," for t in between):
                return True
    return False


def _clause_start(s: Sentence, before: int) -> int:
    start = 0
    for m in s.marked("scope_end") + s.marked("relative"):
        if m.end <= before:
            start = max(start, m.end)
    for m in s.marked("speech"):
        if m.end <= before:
            start = max(start, m.end)
    for i in range(before - 1, start - 1, -1):
        if s.tokens[i].surface in CLAUSE_PUNCT:
            return i + 1
    return start


def _pronoun_before(s: Sentence, lo: int, hi: int) -> str:
    for tok in s.tokens[lo:hi]:
        if tok.lemma in PRONOUNS:
            return tok.lemma
    return ""


def _can_be_subject(a: ActorMention, s: Sentence, noun: bool, lang: str) -> bool:
    if a.prep_before or a.flags & HYPH:
        return False
    if lang != "en" and not a.flags & NOM:
        return False
    return not (a.flags & POSS and not noun)


def _subject(
    s: Sentence, before: int, noun: bool, lang: str, after: int = 0
) -> ActorMention | None:
    intros = [m.end for m in s.marked("speech") if s.tokens[m.start].lemma in SPEECH_INTROS]
    cands = [
        a
        for a in reversed(s.actors)
        if a.end <= before
        and a.start >= after
        and _can_be_subject(a, s, noun, lang)
        and not any(end <= a.start <= end + 2 for end in intros)  # "according to X"
    ]
    if lang != "en":
        # Prefer a clearly nominative actor over an indeclinable one ("посланцями США").
        clear = [a for a in cands if not a.flags & (GEN | DAT)]
        if clear:
            return clear[0]
    return cands[0] if cands else None


def _subject_after(s: Sentence, cue: Match, lang: str) -> ActorMention | None:
    """Verb-subject order in a uk/ru relative clause: "чого вимагає РФ", "которых просит
    вернуть Киев"."""
    if lang == "en":
        return None
    if not any(
        cue.start - 3 <= m.start < cue.start and s.tokens[m.start].lemma in OBJECT_RELATIVES
        for m in s.marked("relative")
    ):
        return None
    for a in s.actors:
        if a.prep_before or not a.flags & NOM:
            continue
        # "которых просит вернуть Киев": the relative pronoun already fills the object.
        if cue.end <= a.start <= cue.end + 1 and not a.flags & (DAT | INS):
            return a
    return None


RELATIVE_PRONOUNS = frozenset({"which", "who", "который", "який", "котрий"})
OBJECT_RELATIVES = frozenset({"который", "який", "котрий", "чего", "чого", "чей"})


def _antecedent(s: Sentence, clause: int) -> ActorMention | None:
    """ "Putin, who declared a truce": the actor a relative pronoun stands for."""
    if clause == 0 or s.tokens[clause - 1].lemma not in RELATIVE_PRONOUNS:
        return None
    before = [a for a in s.actors if a.end <= clause - 1 and not a.reciprocal]
    if before and clause - 1 - before[-1].end <= 2:
        return before[-1]
    return None


def _coordinated(s: Sentence, a: ActorMention) -> tuple[str, ...]:
    actors = a.actors
    if a.start >= 2 and s.tokens[a.start - 1].lemma in CONJ:
        for b in s.actors:
            if b.end == a.start - 1:
                actors = tuple(dict.fromkeys(b.actors + actors))
    return actors


def _possessor(s: Sentence, cue: Match, lang: str) -> ActorMention | None:
    """The owner of a noun cue: "Russia's demands", "US proposal", "вимоги Росії",
    "объявление Путиным"."""
    for a in s.actors:
        gap = a.start - cue.end
        if lang != "en" and 0 <= gap <= 1 and a.flags & (GEN | INS):
            return a
        if gap == 0 and a.flags & UPPER:
            return a
        if gap in (1, 2) and s.tokens[cue.end].lemma in ("of", "by", "from"):
            return a
    if lang == "en":
        for a in reversed(s.actors):
            if cue.start - 2 <= a.start and a.end <= cue.start:
                between = s.tokens[a.end : cue.start]
                if not any(t.surface in CLAUSE_PUNCT or t.surface == "," for t in between):
                    return a
    return None


def _plan_frame(s: Sentence) -> Match | None:
    passive = s.marked("plan_passive")
    if passive:
        return passive[0]
    nouns = s.marked("plan_noun")
    if not nouns:
        return None
    for v in s.marked("plan_verb"):
        if any(v.start - PLAN_WINDOW <= n.start and n.end <= v.start for n in nouns):
            return v
    for v in s.marked("plan_verb_near"):
        if any(v.start - 3 <= n.end <= v.start for n in nouns):
            return v
    for intro in s.marked("plan_intro"):
        near = any(intro.end <= n.start <= intro.end + 2 for n in nouns)
        if near and (intro.start <= 2 or s.tokens[intro.start - 1].surface == ","):
            return intro
    return None


def plan_author_of(s: Sentence) -> str | None:
    """The author of a plan named in the sentence: "US plan", "предложение Вашингтона"."""
    for m in s.marked("plan_author"):
        return m.ref
    for n in s.marked("plan_noun"):
        near = [
            a
            for a in s.actors
            if n.start - 3 <= a.start
            and n.start - 2 <= a.end <= n.start
            and not any(t.surface in CLAUSE_PUNCT for t in s.tokens[a.end : n.start])
        ]
        if near:
            return near[-1].actors[0]
        after = [a for a in s.actors if a.start == n.end and a.flags & GEN]
        if after:
            return after[0].actors[0]
    return None


def _after_topic_intro(s: Sentence, cue: Match) -> bool:
    return any(m.end <= cue.start <= m.end + TOPIC_WINDOW for m in s.marked("topic_intro"))


def _conditional(s: Sentence, cue: Match, scope_end: int) -> Match | None:
    start = max([m.end for m in s.marked("scope_end") if m.end <= cue.start], default=0)
    for m in s.marked("conditional"):
        if (start <= m.start and m.end <= cue.start) or cue.end <= m.start < scope_end:
            return m
    return None


def _frame_anchor(s: Sentence, frame: Match) -> int:
    """Where a plan frame's terms begin: at the plan's name, or the sentence's start for
    "According to the draft, ..."."""
    if frame.kind == "plan_intro" or frame.kind == "plan_passive":
        return 0 if frame.start <= 2 else frame.start
    nouns = [n.start for n in s.marked("plan_noun") if n.end <= frame.start]
    return max(nouns) if nouns else frame.start


def _governors(s: Sentence, groups: list[CueGroup], frame: Match | None) -> list[Governor]:
    govs: list[Governor] = []
    current: Governor | None = None
    anchor = _frame_anchor(s, frame) if frame is not None else None

    def open_frame() -> None:
        nonlocal current, anchor
        assert frame is not None and anchor is not None
        covered = current is not None and current.group.role in ("rejection", "label", "deny")
        if not (covered and current is not None and anchor < current.scope_end):
            if govs and govs[-1].scope_end > anchor and not govs[-1].synthetic:
                govs[-1].scope_end = max(anchor, govs[-1].cue.end)
            current = Governor(frame, CueGroup("demand"), len(s.tokens), synthetic=True)
            current.frame_start = anchor
            govs.append(current)
        anchor = None

    for cue in s.cues:
        if anchor is not None and cue.start >= anchor:
            open_frame()
        group = groups[int(cue.ref)]
        if group.requires_inf and (
            s.tokens[cue.start].flags & PAST  # "мало тривати": was to, not must
            or not (cue.end < len(s.tokens) and s.tokens[cue.end].flags & INF)
        ):
            continue
        if _after_topic_intro(s, cue):
            s.notes.append(f"'{cue.term.text}': a topic under discussion, not an act")
            continue
        if current is not None and not current.synthetic and cue.start < current.cue.end:
            continue  # overlapping cues ("можливе лише" / "лише за умови") are one
        if current is not None and cue.start < current.scope_end:
            if (
                group.predicative
                and not current.synthetic
                and current.cue.end <= cue.start
                and (groups[int(current.cue.ref)].noun or current.group.role == "propose")
            ):
                # "Russia's demands are unacceptable": the rejection judges the proposal.
                g = Governor(cue, group, _scope_end(s, cue.end), negated=_negated(s, cue))
                g.merged_issues = [i for i in s.issues if current.cue.start <= i.start < cue.start]
                g.absorbed.append((current.cue, current.group, False))
                if govs and govs[-1] is current:
                    govs[-1] = g
                else:  # the judged proposal was only a reference ("Europe's proposals")
                    govs.append(g)
                current = g
                continue
            verdict = group.predicative and current.group.role not in ("rejection", "label", "deny")
            if not verdict and (group.noun or group.role in ABSORBS.get(current.group.role, set())):
                current.absorbed.append((cue, group, _negated(s, cue)))
                continue
        if govs and govs[-1].scope_end > cue.start and not govs[-1].synthetic:
            cut = cue.start
            if group.predicative:
                # "X wants a deal, [doing so with Y] is impossible": Y belongs to the verdict.
                commas = [
                    i for i in range(govs[-1].cue.end, cue.start) if s.tokens[i].surface == ","
                ]
                cut = commas[-1] if commas else cut
            govs[-1].scope_end = cut
        current = Governor(cue, group, _scope_end(s, cue.end), negated=_negated(s, cue))
        if not group.governs:
            # "Putin's initiative to declare a truce": a reference whose content is no claim.
            current.scope_end = min(current.scope_end, cue.end + 6)
            continue
        for m in s.marked("exchange"):
            if cue.end <= m.start < current.scope_end + 2:
                current.exchange_at = m.start
                current.scope_end = min(len(s.tokens), m.end + SCOPE_MAX)
                for e in s.marked("scope_end"):
                    if m.end <= e.start < current.scope_end:
                        current.scope_end = e.start
                break
        govs.append(current)
    if anchor is not None:
        open_frame()
    return govs


def _is_recipient(s: Sentence, gov: Governor, a: ActorMention) -> bool:
    """ "offered Trump a freeze", "запропонував Україні": the one an offer is made to."""
    if a.flags & DAT and not a.flags & NOM:
        return True
    return a.start == gov.cue.end and a.end < len(s.tokens) and s.tokens[a.end].lemma in DETERMINERS


def _stance(gov: Governor, s: Sentence) -> tuple[str | None, str]:
    role = gov.group.role
    if gov.synthetic:
        return "demand", "plan frame"
    if role == "propose":
        for cue, group, _neg in gov.absorbed:
            if group.role == "concession" and group.kind == "give" and group.governs:
                blockers = [
                    a
                    for a in s.actors
                    if gov.cue.end <= a.start < cue.start and not _is_recipient(s, gov, a)
                ]
                if not blockers:
                    return "concession", f"offer to give something up ('{cue.term.text}')"
        return "demand", "a reported proposal is a demand of its author"
    if role in ("demand", "modal"):
        for cue, group, neg in gov.absorbed:
            if role == "demand" and neg and group.role in ("concession", "ready"):
                between = [a for a in s.actors if gov.cue.end <= a.start < cue.start]
                if not between:
                    return "rejection", f"insists it will not ('{cue.term.text}', T1)"
        return "demand", ""
    if role in ("concession", "ready", "declare"):
        if gov.group.noun:
            for cue, group, _neg in gov.absorbed:
                if group.role == "demand" and group.noun:
                    return "demand", f"'{gov.cue.term.text}' is named a {cue.term.text}"
        return "concession", ""
    if role == "rejection":
        return "rejection", ""
    if role == "label":
        roles = {g.role for _c, g, _n in gov.absorbed}
        nouns = {g.role for _c, g, _n in gov.absorbed if g.noun}
        conditions = [c for c, g, _n in gov.absorbed if g.noun and c.term.text in CONDITIONS]
        if conditions or ("concession" in nouns and "demand" in nouns):
            return "demand", "something named as a condition"
        if nouns & {"demand", "propose"} or "rejection" in roles:
            return "rejection", "a demand or proposal given a dismissive name"
        return None, "a label with no demand or proposal named"
    return None, "denial: what it embeds is not a claim"


def _window_issues(s: Sentence, lo: int, hi: int) -> list[Match]:
    return [m for m in s.issues if lo <= m.start < hi]


def _purpose_exchange(s: Sentence, issues: list[Match]) -> list[Match]:
    """ "drop the NATO bid for guarantees": after a concession, "for" names what is asked."""
    return [
        m
        for m in issues
        if any(
            p.end <= m.start <= p.end + 3 and s.tokens[p.start].lemma in EXCHANGE_PURPOSE
            for p in s.marked("purpose")
        )
    ]


def _drop_purpose(s: Sentence, issues: list[Match]) -> list[Match]:
    """ "withdraw from Donbas for a ceasefire": the ceasefire is the goal, not the object."""
    purposes = s.marked("purpose")
    if not purposes:
        return issues
    primary = [
        m
        for m in issues
        if not any(p.end <= m.start <= p.end + 3 and p.start < m.start for p in purposes)
    ]
    if primary and len({m.ref for m in primary}) < len({m.ref for m in issues}):
        return primary
    return issues


def may_claim(sentences: list[Sentence], groups: list[CueGroup]) -> bool:
    """Whether `extract` could find a claim, or a position it filters, in these sentences.

    Both need an issue term in some sentence (the cue's own, the title's or the next
    sentence's), except a rejection of "a plan or proposal as a whole", which needs a plan
    noun or a proposal cue. Most news matches neither, and a caller that needs only the
    claims can then skip `extract` (which would still set speakers and notes, for `explain`).
    Keep this in step with the issue fallbacks of `_claims_of`."""
    for s in sentences:
        if s.issues or "plan_noun" in s.markers:
            return True
        for cue in s.cues:
            group = groups[int(cue.ref)]
            if group.role == "propose" and group.noun:
                return True
    return False


def extract(sentences: list[Sentence], ctx: Context, published: date | None) -> list[Claim]:
    """Claims of one entry's sentences (title first), unique per (actor, stance, issue)."""
    groups = ctx.lexicon.cue_groups
    out: dict[tuple[str, str, str], Claim] = {}
    for k, s in enumerate(sentences):
        speaker = find_speaker(s, ctx.last_speaker, ctx.lang)
        if s.is_title:
            ctx.title_speaker = title_speaker(s) or speaker
            speaker = speaker or ctx.title_speaker
        s.speaker = speaker
        if speaker is not None:
            ctx.last_speaker = speaker
        if not s.cues:
            continue
        stated = bool(s.actors and s.issues)
        if s.historical:
            s.notes.append(f"no claim: background ({s.historical})")
            ctx.filtered_positions += stated
            continue
        if s.tokens and s.tokens[-1].surface == "?":
            s.notes.append("no claim: a question (T10)")
            ctx.filtered_positions += stated
            continue
        frame = _plan_frame(s)
        author = (plan_author_of(s) or ctx.plan_author) if frame else None
        if frame is not None and not author:
            frame = None
        hedges = s.marked("hedge")
        prev_end = 0
        prev_actors: tuple[str, ...] = ()
        for gov in _governors(s, groups, frame):
            cond = _conditional(s, gov.cue, gov.scope_end) if not gov.synthetic else None
            if cond is not None:
                s.notes.append(
                    f"'{gov.cue.term.text}': conditional or hypothetical ('{cond.term.text}',"
                    " T3), no claim"
                )
                ctx.filtered_positions += stated
                prev_end = gov.scope_end
                continue
            claims = _claims_of(gov, s, sentences, k, ctx, frame, author, prev_end, prev_actors)
            for claim in claims:
                if hedges:
                    claim = _with_reason(claim, f"hedged sourcing ('{hedges[0].term.text}', T8)")
                out.setdefault((claim.actor, claim.stance, claim.issue), claim)
            if claims:
                prev_actors = tuple(
                    dict.fromkeys(
                        c.actor for c in claims if c.stance != "demand" or not gov.synthetic
                    )
                )
            elif gov.actors and not gov.synthetic:
                prev_actors = gov.actors
            prev_end = gov.scope_end if claims else gov.cue.end
    return list(out.values())


def _with_reason(c: Claim, reason: str) -> Claim:
    return Claim(c.actor, c.stance, c.issue, c.target, c.detail, c.evidence, (*c.reasons, reason))


def _resolve_actor(
    gov: Governor,
    s: Sentence,
    ctx: Context,
    prev_actors: tuple[str, ...],
    frame: Match | None,
    author: str | None,
    reasons: list[str],
) -> tuple[tuple[str, ...], ActorMention | None]:
    """(actors, target mention) of a governing cue; () when none can be found."""
    cue, group = gov.cue, gov.group
    clause = _clause_start(s, cue.start)
    subject = _subject(s, cue.start, group.noun, ctx.lang, after=clause)
    participle = (
        ctx.lang == "en"
        and s.tokens[cue.start].surface.endswith("ing")
        and cue.start > 0
        and s.tokens[cue.start - 1].surface == ","
    )
    if participle and subject is None:
        subject = _subject(s, clause, group.noun, ctx.lang)
    if subject is None:
        subject = _antecedent(s, clause)
    pronoun = _pronoun_before(s, clause, cue.start) if subject is None else ""
    inherited = subject is None and bool(prev_actors) and not pronoun
    if subject is None and not inherited and not group.noun:
        subject = _subject_after(s, cue, ctx.lang)
    if (
        subject is None
        and not inherited
        and not any(m.end <= cue.start for m in s.marked("speech"))
    ):
        subject = _subject(s, clause, group.noun, ctx.lang)
    if group.noun and ctx.lang != "en" and group.role in ("declare", "propose", "demand"):
        owner = _possessor(s, cue, ctx.lang)
        agent = cue.end < len(s.tokens) and s.tokens[cue.end].flags & INS
        if agent:  # "объявление президентом России Путиным": the agent in the instrumental
            owner = next((a for a in s.actors if cue.end <= a.start <= cue.end + 3), owner)
        if owner is not None and (agent or owner.flags & INS or subject is None):
            subject, inherited = owner, False
    concession_noun = group.noun and group.role == "concession"
    if group.noun and subject is None and not inherited and not concession_noun:
        subject = _possessor(s, cue, ctx.lang)
    if frame is not None and author:
        reasons.append(f"plan frame ('{frame.term.text}'): terms are demands of its author (T4)")
        return (author,), subject
    if group.role == "modal" or group.predicative:
        who = s.speaker
        if who is None and prev_actors and not inherited:
            # "Trump urges Zelensky ..., says Ukraine may have to ...": the main subject.
            reasons.append("actor = subject of the sentence's earlier clause")
            return prev_actors, (subject if group.role == "modal" else None)
        who = who or ctx.title_speaker or ctx.last_speaker
        if who is not None:
            reasons.append(f"actor = speaker '{who.text}'")
            return who.actors, (subject if group.role == "modal" else None)
        if subject is not None and group.predicative:
            reasons.append(f"actor = subject '{subject.text}'")
            return subject.actors, None
        return (), None
    if subject is not None:
        reasons.append(f"actor = subject '{subject.text}'")
        if frame is None:
            ctx.last_subject = subject
        return _coordinated(s, subject), None
    if inherited:
        reasons.append("actor = subject of the previous clause")
        return prev_actors, None
    if group.reciprocal:
        reasons.append("an agreement with no named party binds both sides (T14)")
        return ("russia", "ukraine"), None
    if group.noun:
        spoke = s.speaker is not None and s.speaker.end <= cue.start and not concession_noun
        if (
            spoke and s.speaker is not None and any(m.start < cue.start for m in s.marked("speech"))
        ):  # "Putin announced the introduction of a truce"
            reasons.append(f"actor = speaker '{s.speaker.text}'")
            return s.speaker.actors, None
        return (), None
    spoken = any(m.end <= cue.start for m in s.marked("speech"))
    if pronoun in FIRST_PERSON:
        who = s.speaker or ctx.title_speaker or ctx.last_speaker
    elif pronoun and spoken and s.speaker is not None:
        who = s.speaker
    elif pronoun:
        who = ctx.last_subject or s.speaker or ctx.last_speaker
    else:
        who = s.speaker or ctx.title_speaker or ctx.last_speaker or ctx.last_subject
    if who is None:
        return (), None
    here = "actor = speaker" if who is s.speaker else "actor from context"
    reasons.append(f"{here} '{who.text}'" + (f" ('{pronoun}')" if pronoun else ""))
    return who.actors, None


def _claims_of(
    gov: Governor,
    s: Sentence,
    sentences: list[Sentence],
    k: int,
    ctx: Context,
    frame: Match | None,
    author: str | None,
    prev_end: int,
    prev_actors: tuple[str, ...],
) -> list[Claim]:
    cue, group = gov.cue, gov.group
    noun = ", noun" if group.noun else ""
    reasons = [f"cue '{cue.term.text}' ({group.role}{noun})"]
    stance, why = _stance(gov, s)
    if stance is None:
        s.notes.append(f"'{cue.term.text}': {why}" + (" (T7)" if group.role == "deny" else ""))
        return []
    if why:
        reasons.append(why)
    if gov.negated and not gov.synthetic:
        if frame is not None and author:
            pass
        elif group.negated == "keep" or group.role == "modal":
            reasons.append("negated modal ('must not') is still a demand")
        elif stance == "concession" and group.role != "declare" and group.negated != "drop":
            stance = "rejection"
            reasons.append("negated concession is a rejection (T1)")
        else:
            s.notes.append(f"'{cue.term.text}': negated {stance}, no claim (T1)")
            return []
    if frame is not None and author:
        stance = "demand"
    actors, target_actor = _resolve_actor(gov, s, ctx, prev_actors, frame, author, reasons)
    gov.actors = actors
    if not actors:
        s.notes.append(f"'{cue.term.text}': no actor found")
        return []
    # --- issues --------------------------------------------------------------------------
    hi = gov.scope_end
    counter: list[Match] = []
    if gov.exchange_at is not None:
        counter = _window_issues(s, gov.exchange_at, gov.scope_end)
        hi = gov.exchange_at
    issues = _window_issues(s, gov.frame_start if gov.synthetic else cue.start, hi)
    issues += gov.merged_issues
    if stance == "concession" and not counter:
        counter = [m for m in _purpose_exchange(s, issues) if m.ref not in ("ceasefire",)]
        if counter and len({m.ref for m in counter}) < len({m.ref for m in issues}):
            issues = [m for m in issues if m not in counter]
        else:
            counter = []
    issues = _drop_purpose(s, issues)
    lo, where = cue.start, "in the cue's scope"
    if not issues:
        back = min(prev_end, cue.start) if not s.is_title else 0
        issues = _drop_purpose(s, _window_issues(s, back, cue.start))
        lo, hi, where = back, cue.start, "before the cue in its clause"
    fallback: list[str] = []
    absorbed_plan = any(g.role == "propose" and g.noun for _, g, _n in gov.absorbed) or any(
        cue.end <= m.start < gov.scope_end for m in s.marked("plan_noun")
    )
    if not issues and stance == "rejection" and absorbed_plan:
        fallback, where = ["other"], "a plan or proposal as a whole"
    elif (
        not issues
        and stance in ("demand", "rejection")
        and (group.role != "modal" or s.speaker is not None)
        and not reasons[-1].startswith("actor from")
        and not (group.issues and group.role == "concession")
    ):
        if not s.is_title and ctx.title_issues:
            fallback, where = ctx.title_issues, "from the title"
        elif k + 1 < len(sentences) and all(
            ctx.lexicon.cue_groups[int(c.ref)].noun for c in sentences[k + 1].cues
        ):
            fallback = [m.ref for m in sentences[k + 1].issues]
            where = "from the next sentence"
    allowed = group.issues if not gov.synthetic else frozenset()
    found: list[tuple[str, str]] = []
    for m in issues:
        if allowed and m.ref not in allowed and frame is None:
            continue
        if group.window and not cue.end <= m.start <= cue.end + group.window:
            continue
        if all(m.ref != i for i, _ in found):
            found.append((m.ref, detail_for(m.ref, s.tokens, s.matches, lo, hi)))
    for ref in fallback:
        if (not allowed or ref in allowed) and all(ref != i for i, _ in found):
            found.append((ref, ""))
    if not found:
        s.notes.append(f"'{cue.term.text}': no issue found")
        return []
    target = None
    if target_actor is not None and target_actor.actors[0] not in actors:
        target = target_actor.actors[0]
    else:
        for a in s.actors:
            if a.start >= cue.end and a.actors[0] not in actors:
                target = a.actors[0]
                break
    claims: list[Claim] = []
    for actor in actors:
        for issue, det in found:
            r = (*reasons, f"issue '{issue}' {where}")
            claims.append(Claim(actor, stance, issue, target, det, s.text, r))
        if counter and stance in ("demand", "concession"):
            inverse = "concession" if stance == "demand" else "demand"
            for m in _drop_purpose(s, counter):
                det = detail_for(m.ref, s.tokens, s.matches, gov.exchange_at or 0, gov.scope_end)
                r = (*reasons, f"'in exchange for' part: {inverse} on '{m.ref}'")
                claims.append(Claim(actor, inverse, m.ref, target, det, s.text, r))
    if stance == "concession" and group.kind == "accept":
        claims += _accepted_proposals(gov, s, actors, found, reasons, ctx.lang)
    return claims


def _accepted_proposals(
    gov: Governor,
    s: Sentence,
    actors: tuple[str, ...],
    found: list[tuple[str, str]],
    reasons: list[str],
    lang: str,
) -> list[Claim]:
    """ "Ukraine accepted the US proposal for a ceasefire": also the proposer's demand."""
    out: list[Claim] = []
    for cue, group, _neg in gov.absorbed:
        if group.role != "propose" or not group.noun:
            continue
        owner = _possessor(s, cue, lang)
        if owner is None or owner.actors[0] in actors:
            continue
        near = {m.ref for m in s.issues if cue.end <= m.start < cue.end + ACCEPTED_WINDOW}
        for issue, det in found:
            if issue not in near:
                continue
            r = (*reasons, f"the accepted '{cue.term.text}' is a demand of '{owner.text}'")
            out.append(Claim(owner.actors[0], "demand", issue, actors[0], det, s.text, r))
    return out
