"""Scoring the analyzer against hand-labelled items (the format of ../shared/eval/dev.jsonl).

`load_labelled` reads a JSONL file (I/O); `evaluate` and `format_report` are pure.
Relevance: precision, recall and F1 on the `relevant` label. Claims: precision, recall and F1
on (actor, stance, issue) per entry, unique per entry; claims predicted for items whose gold
label is not relevant count as false positives. Breakdowns per language and per stance, and
the list of errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from monitor.models import STANCES, Analysis, Entry

Triple = tuple[str, str, str]


class _Analyzes(Protocol):
    def analyze(self, entry: Entry) -> Analysis: ...


@dataclass(frozen=True)
class LabelledItem:
    """One labelled news item."""

    id: str
    lang: str
    title: str
    summary: str
    relevant: bool
    claims: frozenset[Triple]
    published: datetime | None = None
    url: str | None = None
    neg_type: str | None = None
    evidence: dict[Triple, str] = field(default_factory=dict, compare=False)

    def to_entry(self) -> Entry:
        """The item as the analyzer sees a feed entry: title, summary, language, date."""
        return Entry(
            id=self.id,
            feed_key=self.id,
            url=self.url,
            title=self.title,
            summary=self.summary,
            content="",
            published=self.published,
            updated=None,
            lang=self.lang,
        )


def _item(d: dict[str, Any]) -> LabelledItem:
    pub = d.get("published")
    published = datetime.fromisoformat(pub).replace(tzinfo=UTC) if isinstance(pub, str) else None
    raw = d.get("claims") or ()
    claims = frozenset((c["actor"], c["stance"], c["issue"]) for c in raw)
    evidence = {(c["actor"], c["stance"], c["issue"]): c.get("evidence", "") for c in raw}
    return LabelledItem(
        id=str(d["id"]),
        lang=str(d.get("lang") or ""),
        title=str(d.get("title") or ""),
        summary=str(d.get("summary") or ""),
        relevant=bool(d["relevant"]),
        claims=claims,
        published=published,
        url=d.get("url"),
        neg_type=d.get("neg_type"),
        evidence=evidence,
    )


def load_labelled(path: str | Path) -> list[LabelledItem]:
    """Read labelled items from a JSONL file (one object per line; blank lines skipped)."""
    items: list[LabelledItem] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                items.append(_item(json.loads(line)))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON: {e}") from e
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}:{n}: not a labelled item: {e!r}") from e
    return items


@dataclass
class Counts:
    """True positives, false positives and false negatives, with the derived scores."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """Scores of one labelled set, with breakdowns and errors."""

    items: int = 0
    relevance: Counts = field(default_factory=Counts)
    claims: Counts = field(default_factory=Counts)
    relevance_by_lang: dict[str, Counts] = field(default_factory=dict)
    claims_by_lang: dict[str, Counts] = field(default_factory=dict)
    claims_by_stance: dict[str, Counts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _add(c: Counts, tp: int = 0, fp: int = 0, fn: int = 0) -> None:
    c.tp += tp
    c.fp += fp
    c.fn += fn


def evaluate(items: Iterable[LabelledItem], analyzer: _Analyzes) -> Report:
    """Run the analyzer over the items and count agreements with the labels."""
    report = Report(claims_by_stance={s: Counts() for s in STANCES})
    for item in items:
        report.items += 1
        a = analyzer.analyze(item.to_entry())
        rl = report.relevance_by_lang.setdefault(item.lang, Counts())
        cl = report.claims_by_lang.setdefault(item.lang, Counts())
        if a.relevant and item.relevant:
            _add(report.relevance, tp=1)
            _add(rl, tp=1)
        elif a.relevant:
            _add(report.relevance, fp=1)
            _add(rl, fp=1)
            report.errors.append(
                f"false relevant  {item.id} [{item.lang}] {item.title}  ({item.neg_type})"
            )
        elif item.relevant:
            _add(report.relevance, fn=1)
            _add(rl, fn=1)
            report.errors.append(f"missed relevant {item.id} [{item.lang}] {item.title}")
        predicted = {(c.actor, c.stance, c.issue): c for c in a.claims}
        gold = item.claims if item.relevant else frozenset()
        for triple in sorted(set(predicted) | gold):
            stance = report.claims_by_stance.setdefault(triple[1], Counts())
            if triple in predicted and triple in gold:
                for c in (report.claims, cl, stance):
                    _add(c, tp=1)
            elif triple in predicted:
                for c in (report.claims, cl, stance):
                    _add(c, fp=1)
                claim = predicted[triple]
                report.errors.append(
                    f"false claim   {item.id} [{item.lang}] {' '.join(triple)}"
                    f"  evidence: {claim.evidence!r}  because: {'; '.join(claim.reasons)}"
                )
            else:
                for c in (report.claims, cl, stance):
                    _add(c, fn=1)
                report.errors.append(
                    f"missed claim  {item.id} [{item.lang}] {' '.join(triple)}"
                    f"  evidence: {item.evidence.get(triple, '')!r}"
                )
    return report


def _line(name: str, c: Counts) -> str:
    return (
        f"{name:<22} P {c.precision:.3f}  R {c.recall:.3f}  F1 {c.f1:.3f}"
        f"   (tp {c.tp}, fp {c.fp}, fn {c.fn})"
    )


def format_report(report: Report) -> str:
    """The report as text: totals, per-language and per-stance lines, then every error."""
    lines = [f"items: {report.items}", _line("relevance", report.relevance)]
    for lang, c in sorted(report.relevance_by_lang.items()):
        lines.append(_line(f"  relevance [{lang}]", c))
    lines.append(_line("claims", report.claims))
    for lang, c in sorted(report.claims_by_lang.items()):
        lines.append(_line(f"  claims [{lang}]", c))
    for stance, c in report.claims_by_stance.items():
        lines.append(_line(f"  claims {stance}", c))
    lines.append(f"errors: {len(report.errors)}")
    lines += [f"  {e}" for e in report.errors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m monitor.evaluate FILE.jsonl...`: print the report of each file."""
    import sys

    from monitor.analyze import Analyzer

    paths = sys.argv[1:] if argv is None else argv
    analyzer = Analyzer.load()
    for p in paths:
        print(f"== {p}")
        print(format_report(evaluate(load_labelled(p), analyzer)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
