"""Spelling-insensitive text keys shared by the classifier, language and entity lexicons.

Shoppers write Danish with and without æøå ("ændre", "aendre", "andre"; "størrelse",
"stoerrelse", "storrelse"), so every lexicon and every message goes through the same
folding before it is compared: ``fold`` keeps letters apart (æ -> ae), ``skeleton`` also
merges the digraphs the keyboard-less spellings produce (ae/oe/aa -> e/o/a).
"""

from __future__ import annotations

import re

_CHAR_FOLD = str.maketrans(
    {
        "æ": "ae",
        "ø": "oe",
        "å": "aa",
        "ä": "ae",
        "ö": "oe",
        "ü": "u",
        "é": "e",
        "è": "e",
        "ê": "e",
        "á": "a",
        "à": "a",
        "ó": "o",
        "í": "i",
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
    }
)
_DIGRAPHS = re.compile(r"ae|oe|aa")
_DIGRAPH_MAP = {"ae": "e", "oe": "o", "aa": "a"}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def fold(text: str) -> str:
    """Lower-case with Danish letters spelled out: "Størrelse" -> "stoerrelse"."""
    return text.lower().translate(_CHAR_FOLD)


def skeleton(text: str) -> str:
    """A key that "størrelse", "stoerrelse" and "storrelse" share: "storrelse"."""
    return _DIGRAPHS.sub(lambda m: _DIGRAPH_MAP[m.group()], fold(text))


def words(text: str) -> list[str]:
    """The skeleton words of a text."""
    return _WORD.findall(skeleton(text))


_SPELLINGS = {"æ": "(?:æ|ae|a|e)", "ø": "(?:ø|oe|o)", "å": "(?:å|aa|a)"}


def _units(phrase: str) -> list[str]:
    """A lexicon phrase as regex pieces, one per character: æøå however typed, spaces any gap."""
    units = []
    for char in phrase.lower():
        if char in _SPELLINGS:
            units.append(_SPELLINGS[char])
        elif char == " ":
            units.append(r"[\s-]*")
        else:
            units.append(re.escape(char))
    return units


def spelling_pattern(phrase: str) -> str:
    """A regex matching a lexicon phrase however æøå were typed; spaces match any gap.

    "fodlængde" -> "fodl(?:æ|ae|a|e)ngde"; use with re.IGNORECASE on the original text,
    so match positions are positions in what the shopper wrote.
    """
    return "".join(_units(phrase))


def alternation(phrases: list[str]) -> str:
    """One regex group for several lexicon phrases, longest first, whole words only.

    Written as a trie ("dam(?:aged?|age)|..." rather than "damaged|damage|..."): the same
    matches, but the regex engine tries each distinct first letter once at a position
    instead of every phrase of a list of hundreds, which made these lists a tenth of the
    time it takes to read a message.
    """
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for phrase in sorted(set(phrases), key=len, reverse=True):
        node = root
        for unit in _units(phrase):
            node = node.setdefault(unit, {})
        node.setdefault("", {})  # a phrase ends here

    def branch(node: dict) -> str:  # type: ignore[type-arg]
        alternatives = [unit + branch(child) for unit, child in node.items() if unit]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body  # greedy: the longer phrase first

    return r"(?<![\wæøåÆØÅ])(?:" + branch(root) + r")(?![\wæøåÆØÅ])"
