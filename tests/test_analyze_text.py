"""Text preparation: normalisation, sentence splitting, tokens and lemmas in en/uk/ru."""

from __future__ import annotations

import pytest

from monitor.analyze.text import (
    HYPH,
    INF,
    NOM,
    POSS,
    detect_lang,
    normalise,
    split_sentences,
    stem_en,
    tokenize,
)
from tests.analyze_helpers import analyzer


def test_normalise_folds_apostrophes_quotes_yo_and_abbreviations() -> None:
    assert normalise("Перемирʼя і перемир’я") == "Перемир'я і перемир'я"
    assert normalise("«Ещё» “quoted”") == '"Еще" "quoted"'
    assert normalise("U.S. President") == "US President"
    assert normalise("a\u00a0b  \t c") == "a b c"


def test_normalise_fixes_latin_homoglyphs_inside_cyrillic_words() -> None:
    # "Кpeмль" typed with Latin p and e
    assert normalise("Кpeмль") == "Кремль"
    assert normalise("Kremlin") == "Kremlin"


def test_split_sentences_keeps_abbreviations_and_initials() -> None:
    text = "Mr. Witkoff met Putin. Gen. Kellogg said: talks go on! Next?"
    assert split_sentences(text) == [
        "Mr. Witkoff met Putin.",
        "Gen. Kellogg said: talks go on!",
        "Next?",
    ]
    uk = "Зеленський заявив про це. Нагадаємо, раніше було інакше."
    assert split_sentences(uk) == ["Зеленський заявив про це.", "Нагадаємо, раніше було інакше."]


def test_split_sentences_keeps_closing_quote_with_its_sentence() -> None:
    text = '"Мы не выйдем из Донбасса." Так сказал Зеленский.'
    assert split_sentences(text) == ['"Мы не выйдем из Донбасса."', "Так сказал Зеленский."]


@pytest.mark.parametrize(
    ("a", "b"),
    [("demands", "demanded"), ("ceded", "cede"), ("agreeing", "agreed"), ("truces", "truce")],
)
def test_english_stems_merge_inflections(a: str, b: str) -> None:
    assert stem_en(a) == stem_en(b)


@pytest.mark.parametrize(
    ("lang", "forms"),
    [
        ("ru", ["готов", "готова", "готовы"]),
        ("uk", ["готовий", "готова", "готові"]),
        ("ru", ["Донбасс", "Донбасса", "Донбассе"]),
        ("uk", ["Донбас", "Донбасу", "Донбасі"]),
    ],
)
def test_slavic_forms_share_a_lemma(lang: str, forms: list[str]) -> None:
    # Every form matches the same lexicon entries, whichever reading pymorphy3 ranks first
    # ("готові" is also a form of "гот", the Goths: the lexicon's reading is tried too).
    lex = analyzer().lexicon
    found = [{(m.kind, m.ref) for m in lex.match(lex.tokenizer.tokenize(f, lang))} for f in forms]
    assert found[0] and all(f == found[0] for f in found), found


def test_flags_case_infinitive_possessive_hyphen() -> None:
    ru = tokenize("Украина России отказался выводить", "ru")
    assert ru[0].flags & NOM and not ru[1].flags & NOM
    assert ru[3].flags & INF
    en = tokenize("Russia's US-backed plan", "en")
    assert en[0].lemma == "russia" and en[0].flags & POSS
    assert en[1].lemma == "usa" and en[1].flags & HYPH
    assert [t.lemma for t in tokenize("won't", "en")] == ["will", "not"]


def test_numbers_are_read_with_thousands_separators() -> None:
    assert [t.lemma for t in tokenize("600,000 and 1 200", "en")] == ["600000", "and", "1200"]


def test_detect_lang() -> None:
    assert detect_lang("Україна і Росія", None) == "uk"
    assert detect_lang("Украина и Россия обсуждают", None) == "ru"
    assert detect_lang("Ukraine and Russia", None) == "en"
    assert detect_lang("whatever", "uk-UA") == "uk"
