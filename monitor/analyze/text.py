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
from itertools import chain
from typing import Any, NamedTuple, cast

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
_CYRILLIC = re.compile(r"[а-яіїєґ]", re.IGNORECASE)
# `str.translate` with a dict costs a Python-level look-up per character; most texts hold
# none of these characters or only a few, so a regex finds them and replaces just those.
_FOLD = {chr(k): str(v) for k, v in _APOSTROPHES.items()}
_FOLDED = re.compile("[" + re.escape("".join(_FOLD)) + "]")
# Latin letters that hide inside Cyrillic words (homoglyphs), mapped to their Cyrillic twins.
_LAT2CYR = str.maketrans("aceopxiyKMHTBAECOPX", "асеорхіуКМНТВАЕСОРХ")
_CYR_WORD_WITH_LATIN = re.compile(r"\b(?=\w*[а-яіїєґ])(?=\w*[a-z])\w+\b", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_ABBREV_DOTS = re.compile(r"\b([A-Z])\.([A-Z])\.(?:([A-Z])\.)?")
_ABBREV_HINT = re.compile(r"[A-Z]\.[A-Z]\.")
# Only runs that change: two or more blanks, or a single blank other than a space.
_WS = re.compile(r"[\t\r\f\v][ \t\r\f\v]*| [ \t\r\f\v]+")


def normalise(text: str) -> str:
    """NFKC, one apostrophe and one quote character, ё→е, homoglyphs fixed, "U.S." → "US".

    Each step runs only where it could change something, found by a scan much cheaper than
    the step: ASCII text is already NFKC, holds no homoglyphs and only one folded character
    (the backtick); abbreviations need "X.Y."; blanks need two in a row or a control
    character (tab, CR, FF, VT are not printable)."""
    if text.isascii():
        if "`" in text:
            text = text.replace("`", "'")
    else:
        text = unicodedata.normalize("NFKC", text)
        text = _FOLDED.sub(lambda m: _FOLD[m.group(0)], text)
        if _CYRILLIC.search(text) and _LATIN.search(text) and _CYR_WORD_WITH_LATIN.search(text):
            text = _CYR_WORD_WITH_LATIN.sub(lambda m: m.group(0).translate(_LAT2CYR), text)
    if _ABBREV_HINT.search(text):
        text = _ABBREV_DOTS.sub(lambda m: "".join(g for g in m.groups() if g), text)
    if "  " in text or not text.isprintable():
        text = _WS.sub(" ", text)
    return text.strip()


_ABBREVIATIONS = frozenset(
    re.findall(
        r"\S+",
        "mr mrs ms dr gen adm col lt sgt st jr sr vs etc no inc corp co ltd dept gov rep sen "
        "prof ст им г гг т тыс тис млн млрд руб грн ул просп обл р см напр др пр",
    )
)
# A boundary: a run of end punctuation, closing quotes or brackets, blanks and the capital or
# digit that opens the next sentence; or line breaks. The pattern opens with the character
# class that every boundary starts with, which lets the regex engine skip straight to those
# characters; group 1 is the rest of the punctuation run (None for line breaks), group 2 the
# closing quotes. Possessive quantifiers drop backtracking that could never succeed.
_BOUNDARY = re.compile(
    r'[.!?…\n](?:(?<=\n)\n*|([.!?…]*+)(["\')\]]*+)\s++(?=["(\[]?[A-ZА-ЯІЇЄҐ0-9]))'
)


def split_sentences(text: str) -> list[str]:
    """Split normalised text into sentences; abbreviations and initials do not end one."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        rest = m.group(1)
        if rest == "" and text[m.start()] == ".":  # a single full stop
            before = text[start : m.start()].rsplit(None, 1)
            last = before[-1].lower() if before else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        end = m.end(2) if rest is not None else m.start()
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


# Words, numbers ("1,000", "1 000", "2.5", "600k") and punctuation. The alternatives start
# on disjoint characters, so their order changes no token: words, the most frequent, come
# first, and their quantifiers are possessive (nothing after them could make them give
# back); this halves the cost of the scan.
_TOKEN = re.compile(
    r"[^\W\d_]++(?:'[^\W\d_]++)*+"
    r"|\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?: \d{3})+(?![\d,])|\d+(?:[.,]\d+)?[kK]?"
    r"|[,;:?!()\-\"]"
)
PUNCT = frozenset(',;:?!()-"')
_THOUSANDS = re.compile(r"^\d{1,3}(?:[, ]\d{3})+$")

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


def warm_morphology(lang: str) -> None:
    """Load the pymorphy3 dictionaries of `lang` ("uk" or "ru") now instead of at its first word."""
    _analyzer(lang)


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
# The same tokens for a sentence that was ASCII before hyphens were marked: Unicode classes
# narrowed to ASCII (letters, digits) become bitmaps, which scan about twice as fast.
_TOKEN_MARKED_ASCII = re.compile(
    r"[A-Za-z]++(?:'[A-Za-z]++)*+"
    r"|[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]{1,3}(?: [0-9]{3})+(?![0-9,])"
    r"|[0-9]+(?:[.,][0-9]+)?[kK]?"
    r'|[,;:?!()\-"]|' + _HYPHEN_MARK
)


# A token never spans whitespace, except a number grouped with spaces ("1 000").
_SPACED_NUMBER = re.compile(r"\d \d")


class Tokenizer:
    """Tokenises and lemmatises sentences. Where pymorphy3 offers several lemmas for a word
    ("мирного": мирне or мирний), the first one that the lexicon uses wins, and a second one
    it also uses is kept as `alt`: the lexicon's vocabulary disambiguates.

    Tokens are cached (bounded, one table per language so that a look-up needs no key tuple)
    per word and per whitespace-delimited chunk of a sentence ("talks,", "(AP)"): a sentence
    whose chunks were all seen before costs a split and a dictionary look-up per chunk, and
    the regex scan, the costliest step, runs only on new chunks. Chunks vary more than words
    (punctuation, numbers), so their table holds a quarter as many: a few MB at most, enough
    for a day of news."""

    def __init__(
        self, vocabulary: dict[str, frozenset[str]] | None = None, cache_size: int = 200_000
    ):
        self.vocabulary = vocabulary or {}
        self.cache_size = cache_size
        self._words: dict[str, dict[str, tuple[Token, ...]]] = {}
        self._chunks: dict[str, dict[str, tuple[Token, ...]]] = {}

    def _remember(
        self,
        tables: dict[str, dict[str, tuple[Token, ...]]],
        limit: int,
        lang: str,
        key: str,
        value: tuple[Token, ...],
    ) -> tuple[Token, ...]:
        if sum(map(len, tables.values())) >= limit:
            for table in tables.values():
                table.clear()
        tables.setdefault(lang, {})[key] = value
        return value

    def word(self, surface: str, lang: str) -> tuple[Token, ...]:
        """The token(s) of one word or punctuation mark; two for "won't" ("will", "not")."""
        hit = self._words.setdefault(lang, {}).get(surface)
        if hit is not None:
            return hit
        low = surface.lower()
        result: tuple[Token, ...]
        if surface in PUNCT:
            result = (Token(surface, surface, 0, 0, 0),)
        elif surface in ("US", "USA"):
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
        return self._remember(self._words, self.cache_size, lang, surface, result)

    def tokenize(self, sentence: str, lang: str) -> list[Token]:
        """Tokens of a sentence with lemmas; a hyphen inside a word joins nothing: the word
        before it is flagged HYPH ("US-backed") and the parts are separate tokens."""
        if _SPACED_NUMBER.search(sentence):
            return self._scan(sentence, lang)[0]
        chunks = sentence.split()
        found = list(map(self._chunks.setdefault(lang, {}).get, chunks))
        if not all(found):  # new chunks (or chunks without a token, such as ".")
            for i, hit in enumerate(found):
                if hit is None:
                    tokens, flags_before = self._scan(chunks[i], lang)
                    if flags_before:  # "_-x": the hyphen flags the chunk before, scan it all
                        return self._scan(sentence, lang)[0]
                    chunk = tuple(tokens)
                    found[i] = self._remember(
                        self._chunks, self.cache_size // 4, lang, chunks[i], chunk
                    )
        return list(chain.from_iterable(cast("list[tuple[Token, ...]]", found)))  # all filled

    def _scan(self, text: str, lang: str) -> tuple[list[Token], bool]:
        """Tokens of `text` by the regex, and whether a hyphen came before its first token
        (in a longer text, it would flag the token before `text`)."""
        pattern = _TOKEN_MARKED_ASCII if text.isascii() else _TOKEN_MARKED
        if "-" in text:
            text = _INNER_HYPHEN.sub(_HYPHEN_MARK, text)
        tokens: list[Token] = []
        flags_before = False
        for surface in pattern.findall(text):
            if surface != _HYPHEN_MARK:
                tokens.extend(self.word(surface, lang))
            elif tokens:
                last = tokens[-1]
                tokens[-1] = last._replace(flags=last.flags | HYPH)
            else:
                flags_before = True
        return tokens, flags_before


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
