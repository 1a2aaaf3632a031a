"""The analyzer: one entry in, its relevance and claims out. Pure and deterministic (the only
time it uses is `entry.published`); `Analyzer.load` reads the packaged rules once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from monitor.analyze.claims import (
    Context,
    Sentence,
    extract,
    may_claim,
    plan_author_of,
    prepare,
)
from monitor.analyze.lexicon import Lexicon, check_extra, load_lexicon
from monitor.analyze.relevance import judge
from monitor.analyze.text import detect_lang, normalise, split_sentences, warm_morphology
from monitor.models import Analysis, Claim, Entry

_RECAP_START_TOKENS = 3


class Analyzer:
    """Relevance and claim extraction with the rules in force (packaged YAML + extra terms)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    @classmethod
    def load(cls, extra: Mapping[str, object] | None = None) -> Analyzer:
        """Load the packaged rules and merge the user's `analysis:` section (see lexicon.py).

        Raises ValueError when `extra` is malformed; call `check_extra` first to report it."""
        return cls(load_lexicon(extra))

    @staticmethod
    def check_extra(extra: object) -> list[str]:
        """Problems in an `analysis:` section of feeds.yaml, one human-readable line each."""
        return check_extra(extra)

    @staticmethod
    def warm(langs: Iterable[str | None]) -> None:
        """Load now the morphology that entries in `langs` may need (None: any language), so
        that processes forked afterwards share it instead of each loading it (about 40 MB and
        0.05 s per language)."""
        wanted = set(langs)
        for lang in ("uk", "ru"):
            if lang in wanted or None in wanted:
                warm_morphology(lang)

    @property
    def version(self) -> str:
        """Hash of the rules in force, extra terms included."""
        return self.lexicon.version

    def _sentences(self, entry: Entry) -> tuple[list[Sentence], str, date | None]:
        title = normalise(entry.title)
        body_parts: list[str] = []
        for part in (entry.summary, entry.content):
            text = normalise(part) if part else ""
            if not text:
                continue
            if any(text in p for p in body_parts):
                continue
            body_parts = [p for p in body_parts if p not in text]
            body_parts.append(text)
        lang = detect_lang(title + " " + " ".join(body_parts), entry.lang)
        published = entry.published.date() if entry.published else None
        raw: list[tuple[str, bool]] = [(title, True)] if title else []
        seen = {title}
        for part in body_parts:
            for sent in split_sentences(part):
                if sent not in seen:
                    seen.add(sent)
                    raw.append((sent, False))
        sentences: list[Sentence] = []
        background = ""
        tokenize, match = self.lexicon.tokenizer.tokenize, self.lexicon.match
        for i, (text, is_title) in enumerate(raw):
            tokens = tokenize(text, lang)
            s = prepare(i, text, tokens, match(tokens), published, is_title)
            if not is_title:
                markers = s.markers
                for m in markers.get("recap_block", ()):
                    if m.start < _RECAP_START_TOKENS:
                        background = f"'{m.term.text}' opens background"
                s.historical = background
                if not s.historical:
                    for m in markers.get("recap_start", ()):
                        if m.start < _RECAP_START_TOKENS:
                            s.historical = f"'{m.term.text}' opens a recap"
                    for m in markers.get("recap", ()):
                        s.historical = f"'{m.term.text}' restates an old position"
            sentences.append(s)
        return sentences, lang, published

    def _run(self, entry: Entry, explain: bool = False) -> tuple[Analysis, list[Sentence], str]:
        sentences, lang, published = self._sentences(entry)
        if not explain and not may_claim(sentences, self.lexicon.cue_groups):
            # Nothing `extract` could return: the same Analysis without running it.
            rel = judge(sentences, self.lexicon.relevance, False, 0)
            return Analysis(rel.relevant, rel.score, rel.evidence, ()), sentences, lang
        ctx = Context(self.lexicon, lang)
        if sentences and sentences[0].is_title:
            ctx.title_issues = list(dict.fromkeys(m.ref for m in sentences[0].issues))
        for s in sentences:
            author = plan_author_of(s)
            if author:
                ctx.plan_author = author
                break
        claims = extract(sentences, ctx, published)
        rel = judge(sentences, self.lexicon.relevance, bool(claims), ctx.filtered_positions)
        kept: tuple[Claim, ...] = tuple(claims) if rel.relevant else ()
        return Analysis(rel.relevant, rel.score, rel.evidence, kept), sentences, lang

    def analyze(self, entry: Entry) -> Analysis:
        """Relevance with its evidence, and (for relevant entries) the claims reported."""
        return self._run(entry)[0]

    def explain(self, entry: Entry) -> str:
        """A multi-line human explanation of `analyze(entry)`."""
        analysis, sentences, lang = self._run(entry, explain=True)
        lines = [
            f"entry {entry.id}: {'RELEVANT' if analysis.relevant else 'not relevant'} "
            f"(score {analysis.score:.2f}, language {lang}, rules {self.version})",
            "relevance evidence:",
        ]
        lines += [f"  - {e}" for e in analysis.evidence]
        lines.append("sentences:")
        for s in sentences:
            tag = "title" if s.is_title else f"s{s.index}"
            lines.append(f"  [{tag}] {s.text}")
            if s.historical:
                lines.append(f"      background: {s.historical}")
            if s.actors:
                acts = ", ".join(f"{a.text}->{'+'.join(a.actors)}" for a in s.actors)
                lines.append(f"      actors: {acts}")
            if s.issues:
                lines.append(
                    "      issues: " + ", ".join(f"{m.term.text}->{m.ref}" for m in s.issues)
                )
            if s.cues:
                groups = self.lexicon.cue_groups
                cues = ", ".join(f"{m.term.text}->{groups[int(m.ref)].role}" for m in s.cues)
                lines.append(f"      cues: {cues}")
            marks = [
                f"{k}:{m.term.text}"
                for k, ms in sorted(s.markers.items())
                if k not in ("topic", "context", "lookalike", "region", "tact", "ckind")
                for m in ms
            ]
            if marks:
                lines.append("      markers: " + ", ".join(marks))
            if s.speaker is not None:
                lines.append(f"      speaker: {s.speaker.text}")
            lines += [f"      note: {n}" for n in s.notes]
        lines.append("claims:" if analysis.claims else "claims: none")
        for c in analysis.claims:
            lines.append(
                f"  - {c.actor} {c.stance} {c.issue} target={c.target or '-'} "
                f"detail={c.detail or '-'}"
            )
            lines.append(f"      evidence: {c.evidence}")
            lines += [f"      because: {r}" for r in c.reasons]
        return "\n".join(lines)
