"""Word lists of the understanding layer, read once from ``lexicon.yaml`` (shipped data).

Colours, defect words, warranty words, towns, measurement names, the function words that
tell Danish from English, the cues of anger, the words of small talk, the words that are no
discount code or product name, and what shoppers call the things an FAQ is about. They
are data, not code: an operator extends them without touching a regex, and the modules
that use them stay short.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).with_name("lexicon.yaml")


@dataclass(frozen=True)
class Lexicon:
    language: dict[str, list[str]]  # da_strong, da_weak, en_strong, en_weak
    colours: dict[str, str]  # a shopper's word -> canonical English colour
    colour_false_friends: list[str]
    defect_words: list[str]
    warranty_words: list[str]  # the warranty itself, as a policy asked about
    towns: list[str]
    measurement_labels: dict[str, list[str]]
    neutral_words: frozenset[str]
    anger_cues: dict[str, list[str]]
    frustration_words: list[str]
    business_words: list[str]
    acronyms: frozenset[str]  # capitals that are neither codes nor shouting
    small_talk: frozenset[str]  # the words of a pure greeting, thanks or goodbye
    code_followers: frozenset[str]  # words after "koden"/"the code" that are no code
    product_word_stop: frozenset[str]  # title words and compound tails that name nothing alone
    faq_synonyms: dict[str, list[str]]  # canonical word -> phrases that mean it in an FAQ
    faq_synonym_false_friends: list[str]  # phrases in which such a word means something else


def _words(value: Any) -> list[str]:
    """A YAML list of phrases, or a block of whitespace-separated words."""
    if isinstance(value, str):
        return value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{PATH}: expected a list of words, got {value!r:.60}")
    return list(value)


@cache
def lexicon() -> Lexicon:
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    colours = {
        word: str(canon) for canon, words in raw["colours"].items() for word in _words(words)
    }
    return Lexicon(
        language={k: _words(v) for k, v in raw["language"].items()},
        colours=colours,
        colour_false_friends=_words(raw["colour_false_friends"]),
        defect_words=_words(raw["defect_words"]),
        warranty_words=_words(raw.get("warranty_words", [])),
        towns=_words(raw["towns"]),
        measurement_labels={k: _words(v) for k, v in raw["measurement_labels"].items()},
        neutral_words=frozenset(_words(raw["neutral_words"])),
        anger_cues={k: _words(v) for k, v in raw["anger_cues"].items()},
        frustration_words=_words(raw["frustration_words"]),
        business_words=_words(raw["business_words"]),
        acronyms=frozenset(_words(raw["acronyms"])),
        small_talk=frozenset(_words(raw.get("small_talk", []))),
        code_followers=frozenset(_words(raw.get("code_followers", []))),
        product_word_stop=frozenset(_words(raw.get("product_word_stop", []))),
        faq_synonyms={str(k): _words(v) for k, v in (raw.get("faq_synonyms") or {}).items()},
        faq_synonym_false_friends=_words(raw.get("faq_synonym_false_friends", [])),
    )
