"""Where one message asks for two things: the clauses a second request may stand in.

"Where is order 1003? anna@example.dk. Also, what is your return policy?" holds two
requests; "I ordered boots last week. Where are they?" holds one, told as a story. This
module only cuts a message where a new request may start (after a sentence, at "also",
at "and can you ..."); whether a clause is a request of its own, and which, is for the
classifier and the agent to say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Where a sentence may end: white space after ? ! . or ;, or a new line. A full stop
# ends one only between a word and a word ("... anna@example.dk. Also, ..."), not after an
# abbreviation ("ordre nr. 1042", "str. M", "ca. 3 dage", "Skt. Clemens Torv").
_BREAK = re.compile(r"(?<=[?!.;])\s+|\n+")
_ABBREVIATION = re.compile(
    r"(?<![^\W\d_])(?:nr|no|str|kr|ca|evt|fx|f\.eks|e\.g|i\.e|skt|sct|st|gl|dr|mr|mrs|ms|vs|inkl"
    r"|ekskl|bl\.a|pga|tlf|att|jf|ref|pr|ang|vedr|nb|osv|etc)\.$",
    re.IGNORECASE,
)
# A second request inside a sentence: "..., and also ...", "... og kan I ...".
_CONNECTIVE = re.compile(
    r"(?:,\s*|\s+)(?="
    r"(?:and\s+)?also\b|(?:og\s+)?(?:så\s+)?(?:også|desuden|derudover|endnu\s+en\s+ting)\b"
    r"|by\s+the\s+way\b|btw\b|forresten\b|one\s+more\s+thing\b|another\s+thing\b|en\s+anden\s+ting\b"
    r"|and\s+(?:can|could|will|would|do|does|what|how|when|where|why|which|please|i'd|i\s+would"
    r"|i\s+also)\b"
    r"|og\s+(?:kan|kunne|vil|ville|hvad|hvordan|hvornår|hvornaar|hvor|hvorfor|hvilken|hvilke|må|maa"
    r"|skal|har\s+i|er\s+der|jeg\s+vil|jeg\s+ville|så\s+vil|saa\s+vil)\b)",
    re.IGNORECASE,
)
# A clause of fewer words (emails and links aside) is a fragment ("M?", "anna@example.dk."),
# not a request.
MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")
_NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)

# A clause that opens with one of these asks for something new, whatever it refers to:
# "Also, please cancel it".
_NEW_REQUEST = re.compile(
    r"^\W*(?:and\s+)?(?:also|by\s+the\s+way|btw|one\s+more\s+thing|another\s+thing|p\.?s\.?)\b"
    r"|^\W*(?:og\s+)?(?:så\s+|saa\s+)?(?:også|ogsaa|desuden|derudover|forresten|endnu\s+en\s+ting"
    r"|en\s+anden\s+ting)\b",
    re.IGNORECASE,
)
# A clause about what the one before it named: "Are they coming separately?", "Is it
# waterproof?", "Can I return it?", "Kommer den i morgen?".
_REFERS_BACK = re.compile(
    r"^\W*(?:and\s+|but\s+|so\s+|og\s+|men\s+|så\s+)?"
    r"(?:are|is|was|were|will|would|can|could|do|does|did|has|have"
    r"|er|var|kommer|kan|vil|bliver|blev|har|skal|må|passer)\s+"
    r"(?:it|they|them|this|that|these|those|den|det|de|dem|denne|dette|disse)\b"
    r"|\b(?:it|they|them|den|det|dem)\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def refers_back(self) -> bool:
        """The clause is about what came before it ("Are they coming separately?") and
        nothing marks it as a new request: what it asks shows only read with what came
        before."""
        return bool(_REFERS_BACK.search(self.text)) and not _NEW_REQUEST.search(self.text)


def clauses(text: str) -> list[Clause]:
    """The parts of a message a request of its own may stand in, in order; a message with
    no place to cut is one clause. Fragments (an email, a size) are left out."""
    parts: list[Clause] = []
    for sentence in _split(text, 0, _BREAK, _ends_sentence):
        parts.extend(_split(sentence.text, sentence.start, _CONNECTIVE))
    return [c for c in parts if len(_WORD.findall(_NOT_WORDS.sub(" ", c.text))) >= MIN_WORDS]


def may_hold_two(text: str) -> bool:
    """Cheap first test: is there anywhere to cut at all?"""
    stripped = text.strip()
    return (any(_ends_sentence(stripped, m) for m in _BREAK.finditer(stripped))
            or bool(_CONNECTIVE.search(text)))


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    """A break after a full stop ends a sentence only between words, not after an
    abbreviation; after anything else it always does."""
    if text[m.start() - 1] != "." or "\n" in m.group():
        return True
    before, after = text[max(0, m.start() - 8) : m.start()], text[m.end() : m.end() + 1]
    return (after.isalpha() and (before[-2:-1].isalnum() or before[-2:-1] == ")")
            and not _ABBREVIATION.search(before))


def _split(text: str, offset: int, pattern: re.Pattern[str],
           cuts: Callable[[str, re.Match[str]], bool] | None = None) -> list[Clause]:
    parts, at = [], 0
    for m in pattern.finditer(text):
        if cuts is not None and not cuts(text, m):
            continue
        if m.start() > at:
            parts.append(Clause(text[at : m.start()], offset + at))
        at = m.end()
    if at < len(text):
        parts.append(Clause(text[at:], offset + at))
    return [c for c in parts if c.text.strip()]
