"""Scoring against labelled files: loading, counting, breakdowns, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.evaluate import Counts, LabelledItem, evaluate, format_report, load_labelled
from monitor.models import Analysis, Claim, Entry


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    return path


ROWS: list[dict[str, object]] = [
    {
        "id": "a1",
        "lang": "en",
        "published": "2025-08-16",
        "title": "Putin demands Donbas",
        "summary": "S1.",
        "relevant": True,
        "claims": [
            {"actor": "russia", "stance": "demand", "issue": "territory", "evidence": "x"},
            {"actor": "ukraine", "stance": "rejection", "issue": "territory", "evidence": "y"},
        ],
    },
    {
        "id": "a2",
        "lang": "uk",
        "published": None,
        "title": "Гол",
        "summary": "",
        "relevant": False,
        "claims": [],
        "neg_type": "istanbul_turkey_unrelated",
    },
    {
        "id": "a3",
        "lang": "ru",
        "title": "Переговоры",
        "summary": "",
        "relevant": True,
        "claims": [],
    },
]


class FakeAnalyzer:
    """Answers from a table, to test the scoring alone."""

    def __init__(self, answers: dict[str, Analysis]) -> None:
        self.answers = answers
        self.seen: list[Entry] = []

    def analyze(self, entry: Entry) -> Analysis:
        self.seen.append(entry)
        return self.answers[entry.id]


def _claim(actor: str, stance: str, issue: str) -> Claim:
    return Claim(actor, stance, issue, None, "", "evidence", ("why",))


def test_load_labelled_reads_items_and_turns_them_into_entries(tmp_path: Path) -> None:
    items = load_labelled(_write(tmp_path / "l.jsonl", ROWS))
    assert [i.id for i in items] == ["a1", "a2", "a3"]
    first = items[0]
    assert first.claims == {
        ("russia", "demand", "territory"),
        ("ukraine", "rejection", "territory"),
    }
    e = first.to_entry()
    assert (e.title, e.summary, e.lang) == ("Putin demands Donbas", "S1.", "en")
    assert e.published is not None and e.published.date().isoformat() == "2025-08-16"
    assert items[1].to_entry().published is None
    assert items[1].neg_type == "istanbul_turkey_unrelated"


def test_load_labelled_names_the_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "a", "relevant": false}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not JSON"):
        load_labelled(p)
    p.write_text('{"id": "a"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not a labelled item"):
        load_labelled(p)


def test_evaluate_counts_relevance_and_claims(tmp_path: Path) -> None:
    items = load_labelled(_write(tmp_path / "l.jsonl", ROWS))
    fake = FakeAnalyzer(
        {
            # one claim right, one wrong, one missed
            "a1": Analysis(
                True,
                0.9,
                (),
                (_claim("russia", "demand", "territory"), _claim("us", "demand", "territory")),
            ),
            # a false relevant with a claim: both count as false positives
            "a2": Analysis(True, 0.7, (), (_claim("turkey", "demand", "other"),)),
            # a missed relevant item
            "a3": Analysis(False, 0.2, (), ()),
        }
    )
    r = evaluate(items, fake)
    assert r.items == 3 and len(fake.seen) == 3
    assert (r.relevance.tp, r.relevance.fp, r.relevance.fn) == (1, 1, 1)
    assert (r.claims.tp, r.claims.fp, r.claims.fn) == (1, 2, 1)
    assert r.claims.precision == pytest.approx(1 / 3)
    assert r.claims.recall == pytest.approx(1 / 2)
    assert r.claims_by_stance["rejection"].fn == 1
    assert r.claims_by_stance["demand"].tp == 1
    assert r.relevance_by_lang["uk"].fp == 1 and r.relevance_by_lang["ru"].fn == 1
    text = format_report(r)
    assert "relevance" in text and "claims demand" in text and "[uk]" in text
    assert "false relevant  a2" in text
    assert "missed relevant a3" in text
    assert "false claim   a1 [en] us demand territory" in text
    assert "missed claim  a1 [en] ukraine rejection territory" in text


def test_counts_edge_cases() -> None:
    c = Counts()
    assert (c.precision, c.recall) == (1.0, 1.0)
    c = Counts(tp=0, fp=2, fn=2)
    assert c.f1 == 0.0


def test_labelled_item_defaults() -> None:
    item = LabelledItem("x", "en", "t", "s", True, frozenset())
    assert item.to_entry().content == ""
