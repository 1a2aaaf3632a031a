"""Text preparation for the analysis: normalise, split into sentences, tokenise, lemmatise.

Pure functions plus a lemmatiser whose per-word results are cached (throughput matters: the
same few thousand word forms recur in every feed). Ukrainian and Russian go through pymorphy3;
English goes through a small deterministic stemmer. Lexicon terms pass through the very same
functions, so a term matches whatever surface form shares its lemma.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple

# Token flags (bit mask): what the morphology says a token could be.
NOM = 1  # could be nominative (a subject); always set for English
GEN = 2  # could be genitive
DAT = 4  # could be dative
INF = 8  # could be an infinitive
PREP = 16  # a preposition
POSS = 32  # English possessive ("Russia's")
UPPER = 64  # written in capitals in the source ("US")
HYPH = 128  # joined to the next word by a hyphen ("US-backed")
NOUN = 256  # could be a noun
INS = 512  # could be instrumental ("объявление Путиным")
ACC = 1024  # could be accusative
PAST = 2048  # a past-tense verb

_APOSTROPHES = str.maketrans(
    {
        "\u2019": "'",
        "\u02bc": "'",
        "\u2018": "'",
        "`": "'",
        "\u00b4": "'",
        "\u02b9": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "ё": "е",
        "Ё": "Е",
    }
)
# Latin letters that hide inside Cyrillic words (homoglyphs), mapped to their Cyrillic twins.
_LAT2CYR = str.maketrans("aceopxiyKMHTBAECOPX", "асеорхіуКМНТВАЕСОРХ")
_CYR_WORD_WITH_LATIN = re.compile(r"\b(?=\w*[а-яіїєґ])(?=\w*[a-z])\w+\b", re.IGNORECASE)
_ABBREV_DOTS = re.compile(r"\b([A-Z])\.([A-Z])\.(?:([A-Z])\.)?")
_WS = re.compile(r"[ \t\r\f\v]+")


def normalise(text: str) -> str:
    """NFKC, one apostrophe and one quote character, ё→е, homoglyphs fixed, "U.S." → "US"."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    if _CYR_WORD_WITH_LATIN.search(text):
        text = _CYR_WORD_WITH_LATIN.sub(lambda m: m.group(0).translate(_LAT2CYR), text)
    text = _ABBREV_DOTS.sub(lambda m: "".join(g for g in m.groups() if g), text)
    return _WS.sub(" ", text).strip()


_ABBREVIATIONS = frozenset(
    re.findall(
        r"\S+",
        "mr mrs ms dr gen adm col lt sgt st jr sr vs etc no inc corp co ltd dept gov rep sen "
        "prof ст им г гг т тыс тис млн млрд руб грн ул просп обл р см напр др пр",
    )
)
_BOUNDARY = re.compile(r'([.!?…]+)(["\')\]]*)\s+(?=["(\[]?[A-ZА-ЯІЇЄҐ0-9])|\n+')


def split_sentences(text: str) -> list[str]:
    """Split normalised text into sentences; abbreviations and initials do not end one."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(1) == ".":
            before = text[start : m.start()].rsplit(None, 1)
            last = before[-1].lower() if before else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        end = m.end(2) if m.group(1) else m.start()
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?: \d{3})+(?![\d,])|\d+(?:[.,]\d+)?[kK]?"
    r"|[^\W\d_]+(?:'[^\W\d_]+)*|[,;:?!()\-\"]"
)
PUNCT = frozenset(',;:?!()-"')
_THOUSANDS = re.compile(r"^\d{1,3}(?:[, ]\d{3})+$")

_CYRILLIC = re.compile(r"[а-яіїєґ]", re.IGNORECASE)
_UK_ONLY = re.compile(r"[іїєґ]", re.IGNORECASE)
_RU_ONLY = re.compile(r"[ыэъ]", re.IGNORECASE)


def detect_lang(text: str, declared: str | None) -> str:
    """The language to analyse in: the declared one when it is en/uk/ru, else by script."""
    if declared:
        code = declared.lower()[:2]
        if code in ("en", "uk", "ru"):
            return code
    cyr = len(_CYRILLIC.findall(text))
    if cyr * 3 < len(text) // 4:
        return "en"
    return "uk" if len(_UK_ONLY.findall(text)) > len(_RU_ONLY.findall(text)) else "ru"


class Token(NamedTuple):
    """One token of a sentence: its lower-case form, lemma and flags (start/end unused: 0)."""

    surface: str
    lemma: str
    flags: int
    start: int
    end: int
    alt: str = ""  # a second reading the lexicon also knows ("мирного": мирне / мирний)


# --- English: a small deterministic stemmer ------------------------------------------------

_EN_IRREGULAR = {
    "gave": "give",
    "given": "give",
    "gives": "give",
    "giving": "give",
    "sought": "seek",
    "withdrew": "withdraw",
    "withdrawn": "withdraw",
    "made": "make",
    "said": "say",
    "says": "say",
    "told": "tell",
    "took": "take",
    "taken": "take",
    "held": "hold",
    "met": "meet",
    "meeting": "meeting",
    "meetings": "meeting",
    "ruled": "rule",
    "ruling": "rule",
    "was": "be",
    "were": "be",
    "is": "be",
    "are": "be",
    "been": "be",
    "being": "be",
    "has": "have",
    "had": "had",
    "having": "have",
    "prepared": "prepared",
    "put": "put",
    "set": "set",
    "children": "child",
    "men": "man",
    "won't": "will not",
    "wouldn't": "would not",
    "can't": "can not",
    "cannot": "can not",
    "couldn't": "could not",
    "don't": "do not",
    "doesn't": "do not",
    "didn't": "do not",
    "isn't": "be not",
    "aren't": "be not",
    "wasn't": "be not",
    "weren't": "be not",
    "shouldn't": "should not",
    "mustn't": "must not",
    "hasn't": "have not",
    "haven't": "have not",
    "hadn't": "had not",
    "us": "us",
    "news": "news",
    "talks": "talk",
    "united": "united",
    "states": "state",
    "terms": "term",
    "ready": "ready",
    "forces": "force",
    "offensives": "offensive",
    "offensive": "offensive",
    "ukraine": "ukraine",
    "ukraine's": "ukraine",
    "peace": "peace",
    "truce": "truce",
    "truces": "truce",
}


@lru_cache(maxsize=65536)
def stem_en(word: str) -> str:
    """A light English stemmer: the same output for a word and its inflections."""
    if word in _EN_IRREGULAR:
        return _EN_IRREGULAR[word]
    if word.endswith("'s") or word.endswith("s'"):
        word = word[:-2] if word.endswith("'s") else word[:-1]
        if word in _EN_IRREGULAR:
            return _EN_IRREGULAR[word]
    if "'" in word or len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ing") and len(w) > 5:
        w = w[:-3]
    elif (w.endswith("ed") and len(w) > 4) or w.endswith(("sses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


# --- Ukrainian and Russian: pymorphy3 ---------------------------------------------------------

_ANALYZERS: dict[str, Any] = {}


def _analyzer(lang: str) -> Any:
    if lang not in _ANALYZERS:
        import pymorphy3

        _ANALYZERS[lang] = pymorphy3.MorphAnalyzer(lang=lang)
    return _ANALYZERS[lang]


@lru_cache(maxsize=262144)
def lemma_slavic(word: str, lang: str) -> tuple[tuple[str, ...], int]:
    """Candidate lemmas (best first) and flags of one lower-case Cyrillic word (pymorphy3)."""
    parses = _analyzer(lang).parse(word)
    if not parses:
        return (word,), NOM
    best = parses[0]
    lemmas: list[str] = []
    for p in parses[:4]:
        lemma = str(p.normal_form).replace("ё", "е").replace("\u02bc", "'")
        if lemma not in lemmas:
            lemmas.append(lemma)
    flags = 0
    for p in parses[:4]:
        tag = p.tag
        if p.normal_form != best.normal_form and p.tag.POS != best.tag.POS:
            continue
        case = tag.case
        if "Fixd" in tag or "UNKN" in tag or (case is None and tag.POS in ("NOUN", None)):
            flags |= NOM | GEN | DAT
        if case == "nomn":
            flags |= NOM
        elif case in ("gent", "gen2"):
            flags |= GEN
        elif case == "datv":
            flags |= DAT
        elif case == "ablt":
            flags |= INS
        elif case == "accs":
            flags |= ACC
        if tag.POS == "INFN" or "infn" in str(tag):  # ru: INFN; uk: VERB,infn
            flags |= INF
        if tag.POS == "NOUN":
            flags |= NOUN
        if tag.tense == "past":
            flags |= PAST
    for p in parses:
        if p.tag.POS == "PREP":
            flags |= PREP
    if best.tag.POS in ("VERB", "ADJS", "PRED", "GRND", "PRTS", "ADVB", "CONJ", "PRCL"):
        flags &= ~NOM
    return tuple(lemmas), flags


_EN_PREPOSITIONS = frozenset(
    re.findall(r"\S+", "to from with of for on against by at in over about into onto than toward")
)


@lru_cache(maxsize=262144)
def lemma_word(word: str, lang: str) -> tuple[tuple[str, ...], int]:
    """Candidate lemmas and flags of one lower-case word: Cyrillic in `lang` (uk/ru)."""
    if _CYRILLIC.search(word):
        return lemma_slavic(word, lang if lang in ("uk", "ru") else "ru")
    flags = NOM
    if word in _EN_PREPOSITIONS:
        flags |= PREP
    if word.endswith(("'s", "s'")):
        flags |= POSS
    return (stem_en(word),), flags


_INNER_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_HYPHEN_MARK = "\u2010"
_TOKEN_MARKED = re.compile(_TOKEN.pattern + "|" + _HYPHEN_MARK)


class Tokenizer:
    """Tokenises and lemmatises sentences. Where pymorphy3 offers several lemmas for a word
    ("мирного": мирне or мирний), the first one that the lexicon uses wins, and a second one
    it also uses is kept as `alt`: the lexicon's vocabulary disambiguates. Tokens per word
    are cached (bounded), so a sentence costs one regex pass and a dictionary look-up per
    word."""

    def __init__(
        self, vocabulary: dict[str, frozenset[str]] | None = None, cache_size: int = 200_000
    ):
        self.vocabulary = vocabulary or {}
        self.cache_size = cache_size
        self._cache: dict[tuple[str, str], tuple[Token, ...]] = {}

    def word(self, surface: str, lang: str) -> tuple[Token, ...]:
        """The token(s) of one word; two for "won't" ("will", "not")."""
        key = (surface, lang)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        low = surface.lower()
        result: tuple[Token, ...]
        if surface in ("US", "USA"):
            result = (Token(low, "usa", NOM | UPPER, 0, 0),)
        elif low[0].isdigit():
            number = low.replace(",", "").replace(" ", "") if _THOUSANDS.match(low) else low
            result = (Token(low, number, 0, 0, 0),)
        else:
            lemmas, flags = lemma_word(low, lang)
            vocabulary = self.vocabulary.get(lang, frozenset())
            known = [x for x in lemmas if x in vocabulary]
            lemma = known[0] if known else lemmas[0]
            alt = known[1] if len(known) > 1 else ""
            if " " in lemma:  # English contractions: "won't" -> "will not"
                first, second = lemma.split(" ", 1)
                result = (Token(low, first, flags, 0, 0), Token(low, second, flags, 0, 0))
            else:
                result = (Token(low, lemma, flags, 0, 0, alt),)
        if len(self._cache) >= self.cache_size:
            self._cache.clear()
        self._cache[key] = result
        return result

    def tokenize(self, sentence: str, lang: str) -> list[Token]:
        """Tokens of a sentence with lemmas; a hyphen inside a word joins nothing: the word
        before it is flagged HYPH ("US-backed") and the parts are separate tokens."""
        if "-" in sentence:
            sentence = _INNER_HYPHEN.sub(_HYPHEN_MARK, sentence)
        tokens: list[Token] = []
        extend = tokens.extend
        word = self.word
        for surface in _TOKEN_MARKED.findall(sentence):
            if surface in PUNCT:
                tokens.append(Token(surface, surface, 0, 0, 0))
            elif surface == _HYPHEN_MARK:
                if tokens:
                    last = tokens[-1]
                    tokens[-1] = last._replace(flags=last.flags | HYPH)
            else:
                extend(word(surface, lang))
        return tokens


_PLAIN = Tokenizer()


def tokenize(sentence: str, lang: str) -> list[Token]:
    """Tokens of a sentence with each word's most likely lemma (no lexicon preference)."""
    return _PLAIN.tokenize(sentence, lang)


def lemmatise_term(term: str, lang: str, max_variants: int = 8) -> list[str]:
    """A lexicon term as lemma strings: one per combination of its words' candidate lemmas
    (so that an ambiguous word matches whichever reading the text's word gets). A final `*`
    (prefix match) is kept and not lemmatised."""
    term = normalise(term)
    prefix = term.endswith("*")
    if prefix:
        term = term[:-1]
    words = [t for t in tokenize(term, lang) if t.surface not in PUNCT]
    if not words:
        return []
    options: list[tuple[str, ...]] = []
    for t in words:
        if t.lemma != lemma_word(t.surface, lang)[0][0] or t.surface[0].isdigit():
            options.append((t.lemma,))  # contractions and numbers: as tokenised
        else:
            options.append(lemma_word(t.surface, lang)[0])
    if prefix:
        options[-1] = (words[-1].surface.lower() + "*",)
    variants = [""]
    for opts in options:
        variants = [f"{v} {o}".strip() for v in variants for o in opts][:max_variants]
    return variants
