"""Danish or English: which language a shopper writes in.

Function words decide, not a model: a message to a shop is short, and a handful of words
("jeg", "min", "ikke", "hvor" against "the", "my", "is", "where") says more than any
character statistics. Words are compared on their skeleton (see ``folding``), so Danish
written without æøå ("hvornaar", "stoerrelse", "hvornar") counts as Danish. When the
evidence is thin ("ok", an order number, an email) the store's default language wins.
"""

from __future__ import annotations

import re

from .folding import skeleton
from .lexicon import lexicon


def _table() -> dict[str, tuple[int, int]]:
    """Skeleton word -> (Danish points, English points); strong words two, weak ones one."""
    table: dict[str, list[int]] = {}
    lists = lexicon().language
    for words, lang, weight in (
        (lists["da_strong"], 0, 2),
        (lists["da_weak"], 0, 1),
        (lists["en_strong"], 1, 2),
        (lists["en_weak"], 1, 1),
    ):
        for word in words:
            key = skeleton(word)
            scores = table.setdefault(key, [0, 0])
            scores[lang] = max(scores[lang], weight)
    # A word both languages use ("for", "a/å" folded alike) tells nothing.
    return {k: (v[0], v[1]) for k, v in table.items() if not (v[0] and v[1])}


def _shared() -> frozenset[str]:
    lists = lexicon().language
    da = {skeleton(w) for w in lists["da_strong"] + lists["da_weak"]}
    en = {skeleton(w) for w in lists["en_strong"] + lists["en_weak"]}
    return frozenset(da & en)


_WEIGHTS = _table()
_SHARED = _shared()
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_DANISH_LETTERS = re.compile(r"[æøåÆØÅ]")
_MARGIN = 2


def is_common_word(word: str) -> bool:
    """A Danish or English function word ("the", "hej", "ikke"): not a name, not a code."""
    return skeleton(word) in _WEIGHTS or skeleton(word) in _SHARED


# A code ("JULEGAVE20", "SPAR100") is no word of either language; nor is a word in
# capitals among words that are not ("FRAGTFRI doesn't work"), though a shout is.
_CODE_LIKE = re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[\w-]+\b")
_CAPITALS = re.compile(r"\b[A-ZÆØÅ]{4,}\b")
_LOWER_WORD = re.compile(r"[a-zæøå]{2,}")


def _without_codes(text: str) -> str:
    text = _CODE_LIKE.sub(" ", text)
    return _CAPITALS.sub(" ", text) if _LOWER_WORD.search(text) else text


def language_scores(text: str) -> tuple[int, int]:
    """Evidence points for Danish and for English."""
    text = _without_codes(text)
    da = 2 * min(len(_DANISH_LETTERS.findall(text)), 2)
    en = 0
    for token in _TOKEN.findall(skeleton(text)):
        weights = _WEIGHTS.get(token)
        if weights:
            da += weights[0]
            en += weights[1]
    return da, en


def detect_language(text: str, locales: list[str], default: str) -> str:
    """Return "da" or "en" (one of ``locales``); ``default`` when the text does not say."""
    if len(locales) == 1:
        return locales[0]
    da, en = language_scores(text)
    if da - en >= _MARGIN and "da" in locales:
        return "da"
    if en - da >= _MARGIN and "en" in locales:
        return "en"
    return default
