"""Analyzer behaviour beyond the traps: relevance look-alikes, actors with dated roles,
details that change with the numbers, user extra terms, determinism, explanations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from monitor.analyze import Analyzer, known_positions, rules_version
from monitor.models import ACTORS, ISSUES, STANCES
from tests.analyze_helpers import analyze, analyzer, entry, triples

LOOKALIKES = [
    ("en", "Israel and Hamas agree to ceasefire under Trump's 20-point Gaza peace plan", ""),
    ("en", "US and Iran hold nuclear talks in Oman as Witkoff meets Araghchi", ""),
    ("en", "Russian drone attack on Kyiv injures 12, damages apartment blocks", ""),
    ("en", "EU agrees 19th sanctions package against Russia", "The package targets LNG imports."),
    ("en", "Ukraine opens first negotiating cluster in EU accession talks", ""),
    ("uk", "Вірменія та Азербайджан домовилися про текст мирної угоди", ""),
    ("uk", "Ракетна атака на Харків: є загиблі та постраждалі", ""),
    ("uk", "Графіки відключень світла у Києві на завтра", ""),
    ("ru", "Эрдоган выступил с заявлением после землетрясения в Стамбуле", ""),
    ("ru", "Банк России сохранил ключевую ставку", "Совет директоров принял решение."),
    ("ru", "Таиланд и Камбоджа договорились о прекращении огня", ""),
]


@pytest.mark.parametrize(("lang", "title", "summary"), LOOKALIKES)
def test_lookalikes_are_not_relevant(lang: str, title: str, summary: str) -> None:
    a = analyze(title, summary, lang)
    assert not a.relevant, a.evidence
    assert a.score < 0.5
    assert a.claims == ()


RELEVANT = [
    ("en", "Umerov and Medinsky lead delegations at Istanbul talks", ""),
    ("en", "Witkoff to meet Putin in Moscow on Thursday, Kremlin says", ""),
    ("uk", "Умєров очолить делегацію на переговорах в Абу-Дабі", ""),
    ("ru", "Путин объявил пасхальное перемирие", ""),
    ("ru", "Мединский: следующий раунд переговоров с Украиной пройдет в Стамбуле", ""),
]


@pytest.mark.parametrize(("lang", "title", "summary"), RELEVANT)
def test_talks_are_relevant_with_evidence(lang: str, title: str, summary: str) -> None:
    a = analyze(title, summary, lang)
    assert a.relevant, a.evidence
    assert a.score >= 0.5
    assert any(e.startswith("topic") for e in a.evidence)


def test_yermak_speaks_for_ukraine_only_until_his_resignation() -> None:
    title = "Ukraine demands the return of all deported children - Yermak"
    summary = "Russia must return all deported children, Andriy Yermak said after the talks."
    before = analyze(title, summary, published=datetime(2025, 6, 2, tzinfo=UTC))
    after = analyze(title, summary, published=datetime(2025, 12, 15, tzinfo=UTC))
    assert ("ukraine", "demand", "children") in triples(before)
    modal = [c for c in after.claims if "speaker" in " ".join(c.reasons)]
    assert all("Yermak" not in " ".join(c.reasons) for c in modal)
    assert "role ended" in analyzer().explain(
        entry(title, summary, published=datetime(2025, 12, 15, tzinfo=UTC))
    )


@pytest.mark.parametrize(
    ("title", "detail"),
    [
        ("US peace plan would cap Ukraine's army at 600,000 troops", "cap:600000"),
        ("Peace plan would cap Ukraine's army at 800,000 troops, Europeans propose", "cap:800000"),
    ],
)
def test_numbers_that_shift_change_the_detail(title: str, detail: str) -> None:
    a = analyze(title, "The draft was discussed at the peace talks in Geneva.")
    caps = {c.detail for c in a.claims if c.issue == "military_limits"}
    assert caps == {detail}


def test_details_name_regions_durations_and_swaps() -> None:
    a = analyze("Putin demands Ukraine withdraw from Donetsk and Luhansk before any ceasefire")
    assert {c.detail for c in a.claims if c.issue == "territory"} == {"withdraw:donetsk,luhansk"}
    b = analyze("Ukraine accepts US proposal for 30-day ceasefire at Jeddah talks")
    assert "ceasefire:30d" in {c.detail for c in b.claims if c.issue == "ceasefire"}
    c = analyze(
        "Россия и Украина договорились об обмене пленными 1200 на 1200",
        "Об этом сообщил Мединский по итогам переговоров в Стамбуле.",
        "ru",
    )
    assert {x.detail for x in c.claims if x.issue == "prisoners"} == {"exchange:1200"}
    assert {x.actor for x in c.claims if x.issue == "prisoners"} == {"russia", "ukraine"}


def test_unilateral_truce_declaration_is_a_concession_with_its_kind() -> None:
    a = analyze("Путин объявил пасхальное перемирие", "", "ru")
    assert ("russia", "concession", "ceasefire") in triples(a)
    assert {c.detail for c in a.claims} == {"easter"}


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("Україна відмовилася від вимоги про членство в НАТО на переговорах", "concession"),
        (
            "Україна відмовилася виконувати вимогу Росії щодо виходу з НАТО на переговорах",
            "rejection",
        ),
    ],
)
def test_refuse_from_noun_vs_refuse_to_verb(text: str, stance: str) -> None:
    a = analyze(text, "", "uk")
    assert ("ukraine", stance, "nato") in triples(a)


def test_user_extra_terms_extend_actors_issues_and_relevance() -> None:
    title = "Spokesperson Ivanova insists Kyiv hand over the Novorossiya corridor at the talks"
    plain = analyze(title)
    assert ("russia", "demand", "territory") not in triples(plain)
    extra = {
        "actors": {"russia": ["Ivanova"]},
        "issues": {"territory": ["Novorossiya corridor"]},
        "relevance": {"terms": ["Novorossiya corridor"]},
    }
    assert Analyzer.check_extra(extra) == []
    custom = Analyzer.load(extra)
    a = custom.analyze(entry(title))
    assert ("russia", "demand", "territory") in triples(a)
    assert custom.version != analyzer().version
    assert rules_version(extra) == custom.version
    assert rules_version() == analyzer().version


def test_check_extra_reports_every_problem() -> None:
    problems = Analyzer.check_extra(
        {
            "actors": {"martians": ["x"], "russia": "not a list"},
            "colours": {},
            "issues": {"nato": [""]},
        }
    )
    assert len(problems) == 4
    assert any("martians" in p for p in problems)
    assert any("colours" in p for p in problems)
    assert any("nato[0]" in p for p in problems)
    assert Analyzer.check_extra(["a"]) != []
    with pytest.raises(ValueError):
        Analyzer.load({"issues": {"nope": ["x"]}})


def test_known_positions_are_valid_and_cover_the_big_ones() -> None:
    known = known_positions()
    assert len(known) > 50
    for actor, stance, issue, _detail, when in known:
        assert actor in ACTORS and stance in STANCES and issue in ISSUES
        assert when.year >= 2022
    keys = {(a, s, i, d) for a, s, i, d, _ in known}
    assert ("russia", "demand", "territory", "") in keys
    assert ("us", "demand", "military_limits", "cap:600000") in keys
    assert ("ukraine", "concession", "military_limits", "cap:800000") in keys


def test_known_positions_details_match_what_the_analyzer_extracts() -> None:
    a = analyze("US peace plan would cap Ukraine's army at 600,000 troops")
    keys = {(a, s, i, d) for a, s, i, d, _ in known_positions()}
    assert any(c.key in keys for c in a.claims)


def test_analysis_is_deterministic_and_pure() -> None:
    e = entry(
        "Putin demands Ukraine surrender Donbas, abandon NATO at Alaska summit",
        "In exchange, Moscow would freeze the front lines in Zaporizhzhia and Kherson.",
    )
    first = analyzer().analyze(e)
    again = Analyzer.load().analyze(e)
    assert first == again == analyzer().analyze(replace(e))
    assert analyzer().explain(e) == analyzer().explain(e)


def test_explain_shows_evidence_sentences_cues_and_reasons() -> None:
    text = analyzer().explain(
        entry("Zelensky rejects Russia's demand to withdraw from Donetsk", "", "en")
    )
    assert "RELEVANT" in text
    assert "cues:" in text and "reject" in text
    assert "ukraine rejection territory" in text
    assert "because:" in text


def test_not_relevant_entries_carry_no_claims() -> None:
    a = analyze("Thailand demands Cambodia withdraw troops from the border", "")
    assert not a.relevant and a.claims == ()


def test_content_is_analysed_and_duplicates_of_the_summary_are_not_counted_twice() -> None:
    summary = "Kremlin aide Yury Ushakov said Russia demands Kyiv withdraw from Donbas."
    a = analyzer().analyze(entry("Talks in Abu Dhabi", summary, content=summary + " More text."))
    assert ("russia", "demand", "territory") in triples(a)
    assert a == analyzer().analyze(
        entry("Talks in Abu Dhabi", summary, content=summary + " More text.")
    )


@pytest.mark.parametrize(
    ("lang", "title", "expected"),
    [
        # a label: a demand named a "show" is rejected; a withdrawal named a condition is a demand
        (
            "uk",
            "Мединський назвав вимогу України повернути депортованих дітей шоу на переговорах",
            ("russia", "rejection", "children"),
        ),
        (
            "ru",
            "Кремль назвал вывод ВСУ из Донбасса условием для прекращения огня",
            ("russia", "demand", "territory"),
        ),
        # verb-subject order in a relative clause
        (
            "ru",
            "Мединский показал список детей, которых просит вернуть Киев на переговорах",
            ("ukraine", "demand", "children"),
        ),
        # "X is possible only after Y": the speaker's condition
        (
            "uk",
            "Пєсков заявив, що припинення вогню можливе лише після виведення ЗСУ з Донбасу",
            ("russia", "demand", "territory"),
        ),
        # a unilateral truce announced in a relative clause refers to its antecedent
        (
            "en",
            "Zelensky gave no answer to Putin, who declared an Easter truce on Saturday",
            ("russia", "concession", "ceasefire"),
        ),
        # restoring aid in exchange is a concession
        (
            "en",
            "The United States agreed to resume military aid to Ukraine after Jeddah talks",
            ("us", "concession", "other"),
        ),
    ],
)
def test_general_slot_rules(lang: str, title: str, expected: tuple[str, str, str]) -> None:
    got = triples(analyze(title, "", lang))
    assert expected in got, got


def test_negated_cues_of_the_other_side_are_not_claimed() -> None:
    a = analyze("Kremlin denies that Russia agreed to freeze the front line", "")
    assert ("russia", "concession", "territory") not in triples(a)
    b = analyze(
        "Зеленский ранее говорил, что стороны не договаривались прекратить удары по энергетике",
        "",
        "ru",
    )
    assert not {t for t in triples(b) if t[1] == "rejection"}


def test_polysemous_cues_are_blocked() -> None:
    # T13: "phone call on" is not "call on", a press conference is not pressure
    a = analyze(
        "Putin and Trump hold phone call on Ukraine peace talks",
        "The two leaders held a press conference after the call.",
    )
    assert a.relevant
    assert not {t for t in triples(a) if t[1] == "demand"}


def test_a_verdict_on_a_named_proposal_is_a_rejection_of_it() -> None:
    a = analyze("Захарова: предложения Европы по Украине неприемлемы для Москвы", "", "ru")
    assert ("russia", "rejection", "other") in triples(a)
    b = analyze("Zelensky says Russia's demands on Donbas are unacceptable", "")
    assert ("ukraine", "rejection", "territory") in triples(b)
    assert ("russia", "demand", "territory") not in triples(b)
