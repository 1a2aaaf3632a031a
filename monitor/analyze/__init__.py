"""Analysis stage: which entries are about the Russia-Ukraine talks, and which demands,
concessions and rejections they report. Pure and deterministic (time = `entry.published`);
the only I/O is reading the packaged rules in `Analyzer.load`.

API:
- `Analyzer.load(extra)` -> `Analyzer`; `Analyzer.check_extra(extra)` -> problems (one line
  each); `analyzer.analyze(entry)` -> `Analysis`; `analyzer.explain(entry)` -> text;
  `analyzer.version` -> hash of the rules in force *including* the extra terms.
- `known_positions()` -> the seed of the novelty ledger (actor, stance, issue, detail, date).
- `rules_version(extra=None)` -> a hash of the packaged rules (and of `extra` when given).

The shape of `extra` (the `analysis:` section of feeds.yaml) is documented in `lexicon.py`.

Design (one paragraph per decision; the alternative rejected in brackets):

- Rules are data: `monitor/rules/*.yaml` holds actors (with date-bounded roles), issues,
  regions and detail vocabularies, cues by role, filter markers and relevance weights, in en,
  uk and ru. Code holds only the generic machinery (slots, scopes, filters). [Rules written as
  Python regexes: unreadable for users and impossible to extend from feeds.yaml.]
- Matching is on lemmas with one Aho-Corasick automaton per rule set. pymorphy3 for uk/ru,
  a small stemmer for English, both cached per word; lexicon terms go through the same
  lemmatiser, and an ambiguous word ("мирного": мирне/мирний) is matched under every reading
  the lexicon knows. [Surface-form lists: every case ending of every term by hand.]
- Relevance is a score from talks vocabulary, extracted claims and look-alike vocabulary, and
  requires Russia-Ukraine context (Ukraine named, or Russia plus strong talks evidence and no
  other conflict). [A trained classifier: no labelled data of the size needed, and not
  explainable term by term.]
- Claims: cues are read left to right; a verb cue opens a scope up to the clause's end whose
  cues are its content ("demanded that Kyiv *withdraw*"). Actor = the cue's grammatical
  subject (nominative in uk/ru, not after a preposition, verb-subject order in relative
  clauses); for "X must ..." and "... is unacceptable" it is the speaker of the attribution
  frame. Issues = issue terms in the scope, else in the clause before the cue. Filters:
  negation (concession -> rejection), conditionals, questions, recaps, denials, plan frames
  (terms of a plan are its author's demands), hedges (kept with a reason). Every claim
  carries the reasons that produced it. [A dependency parser: too slow for 2,000 entries/s
  and not available offline for Ukrainian.]
- `detail` normalises what makes a claim news: regions and the action on them, army caps,
  ceasefire kind and duration, swap sizes. It is the key of the novelty ledger together with
  actor, stance and issue; `known_positions.yaml` seeds the ledger with domain section B1.
- The built lexicon is cached on disk (`lexicon_cache.py`), keyed by the rules, the extra
  terms, our code and the versions of Python, pymorphy3, its dictionaries and pyahocorasick:
  building takes a third of a second (pymorphy3 included), a cache hit about 20 ms, and every
  poll with new entries loads the rules before its workers fork. pymorphy3 then loads only
  when a Ukrainian or Russian word is first analysed. Any problem with the cache means a
  build, never an error. [Building the rules faster: most of it is pymorphy3 and its
  dictionaries, which are not ours; shipping a prebuilt lexicon: extra terms and the installed
  dictionaries vary per user.]
"""

from __future__ import annotations

from datetime import date

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.lexicon import load_known_positions, rules_version


def known_positions() -> list[tuple[str, str, str, str, date]]:
    """Long-known positions (domain notes, section B1) as (actor, stance, issue, detail, date),
    read from the packaged known_positions.yaml. Seed the novelty ledger with them so that a
    first run does not flag them as newly reported."""
    return load_known_positions()


__all__ = ["Analyzer", "known_positions", "rules_version"]
