"""Relevance: is an entry about the Russia-Ukraine negotiations? Pure.

score = logistic(topic + claim bonus - look-alikes - threshold). An entry is relevant when
its score is at least 0.5 *and* it has Russia-Ukraine context; without context the score is
halved, so it stays below 0.5. The evidence lists every term and rule that counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.analyze.claims import Sentence
from monitor.analyze.lexicon import Match


@dataclass(frozen=True)
class Relevance:
    relevant: bool
    score: float
    evidence: tuple[str, ...]


def _inside(start: int, end: int, spans: list[Match]) -> bool:
    return any(
        m.start <= start and end <= m.end and (m.end - m.start) > (end - start) for m in spans
    )


def judge(
    sentences: list[Sentence], params: dict[str, float], has_claims: bool, filtered: int = 0
) -> Relevance:
    """Score one entry's sentences (title first) against the relevance rules.

    The hits are read by kind; the topic terms are scored last, once the strongest topic
    weight of the entry is known."""
    title_w = params["title_weight"]
    topic: dict[str, float] = {}
    look: dict[str, dict[str, float]] = {}
    context: list[str] = []
    russia = False
    envoy = False
    strong: set[str] = set()
    topics: list[tuple[Sentence, list[Match]]] = []
    for s in sentences:
        w = title_w if s.is_title else 1.0
        hits = s.hits
        if "topic" in hits:
            topics.append((s, hits["topic"]))
        for m in hits.get("lookalike", ()):
            t = m.term
            group = look.setdefault(t.ref, {})
            group[t.text] = max(group.get(t.text, 0.0), t.weight * w)
        for m in hits.get("context", ()):
            if m.term.text not in context:
                context.append(m.term.text)
        envoy = envoy or "envoy" in hits
        for a in s.actors:
            if a.reciprocal:
                continue
            if "ukraine" in a.actors and a.text not in context:
                context.append(a.text)
            russia = russia or "russia" in a.actors
    top_weight = max((m.term.weight for _s, spans in topics for m in spans), default=0.0)
    for s, spans in topics:
        w = title_w if s.is_title else 1.0
        for m in spans:
            if len(spans) > 1 and _inside(m.start, m.end, spans):
                continue
            t = m.term
            key = " ".join([tok.lemma for tok in s.tokens[m.start : m.end]])
            topic[key] = max(topic.get(key, 0.0), t.weight * w)
            if t.weight >= top_weight:
                strong.add(key)
    # Overlapping terms ("peace talks" and "talks") both count: longer phrases are stronger.
    topic_sum = min(sum(topic.values()), params["max_topic"])
    look_sum = 0.0
    for terms in look.values():
        look_sum += sum(sorted(terms.values(), reverse=True)[:2])
    look_sum = min(look_sum, params["max_lookalike"])
    bonus = params["claim_weight"] if has_claims else 0.0
    if not has_claims and filtered:
        bonus = params["position_weight"]
    raw = topic_sum + bonus - look_sum
    # Without Ukraine named, Russia plus talks evidence will do ("Putin declared a truce",
    # "Witkoff to visit Moscow").
    other_talks = "other_negotiation" in look or "us_russia_bilateral" in look
    has_context = bool(context) or (
        russia and not other_talks and (bool(strong) or has_claims or envoy)
    )
    score = 1.0 / (1.0 + math.exp(-(raw - params["threshold"])))
    if not has_context:
        score *= 0.5
    relevant = has_context and score >= 0.5
    evidence: list[str] = [f"topic '{k}' +{v:g}" for k, v in sorted(topic.items())]
    if has_claims:
        evidence.append(f"claims found +{bonus:g}")
    elif bonus:
        evidence.append(f"positions stated conditionally or as background +{bonus:g}")
    for name, terms in sorted(look.items()):
        evidence += [f"look-alike {name} '{k}' -{v:g}" for k, v in sorted(terms.items())]
    evidence += [f"context '{c}'" for c in context[:5]]
    if not has_context:
        evidence.append("rule: no Russia-Ukraine context, not relevant")
    evidence.append(
        f"rule: raw {raw:.2f} = topic {topic_sum:.2f} + claims {bonus:g} - look-alike "
        f"{look_sum:.2f}; relevant when >= {params['threshold']:g} with context"
    )
    return Relevance(relevant, round(score, 4), tuple(evidence))
