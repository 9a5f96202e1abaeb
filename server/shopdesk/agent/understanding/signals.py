"""Text signals for the escalation policy: a request for a person, anger, GDPR, business.

Anger is AFINN's word score (Danish or English list) plus cues AFINN does not weigh:
threats (lawyer, chargeback, Forbrugerklagenævnet, a bad review), insults and swearing,
"this is unacceptable", exclamation marks of frustration, shouting in capitals. The words
a support message needs to describe its problem ("missing", "damaged", "fejl", "mangler")
are taken out of AFINN's score, so reporting a fault is not anger; and mild disappointment
("a bit annoying", "lidt ærgerligt", "bummer") stays below the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from afinn import Afinn

from .folding import alternation
from .lexicon import lexicon

NEGATIVE_BELOW = -5.0  # a sentiment score at or below this is anger even without a cue

_LEXICON = lexicon()
_CUE_PATTERNS = {
    kind: re.compile(alternation(words), re.IGNORECASE)
    for kind, words in _LEXICON.anger_cues.items()
}
_FRUSTRATION = re.compile(alternation(_LEXICON.frustration_words), re.IGNORECASE)
_EXCLAMATIONS = re.compile(r"!")
_CAPS_WORD = re.compile(r"\b[A-ZÆØÅ]{3,}\b")


@dataclass(frozen=True)
class Negativity:
    score: float  # AFINN plus cue weights; below zero is negative, NEGATIVE_BELOW and down is anger
    negative: bool
    cues: list[str] = field(default_factory=list)


@cache
def _afinn(lang: str) -> Afinn:
    return Afinn(language=lang if lang in ("da", "en") else "en")


@cache
def _afinn_words(lang: str) -> re.Pattern[str]:
    """AFINN's own word pattern (``Afinn.find_all``: its words longest first, at word
    boundaries) written as a trie: the same matches, without trying each of its ~3,500
    words at every position of the text."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in _afinn(lang)._dict:  # the word list; no public accessor
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def branch(node: dict) -> str:  # type: ignore[type-arg]
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body  # greedy: the longer word first

    return re.compile(r"(\b(?:" + branch(trie) + r")\b)")


_WHITESPACE = re.compile(r"\s+")


def sentiment(text: str, lang: str) -> float:
    """AFINN's score without the words a complaint needs to describe its problem."""
    table: dict[str, float] = _afinn(lang)._dict  # the word list; no public accessor
    words = _afinn_words(lang).findall(_WHITESPACE.sub(" ", text).lower())  # = Afinn.find_all
    return float(sum(table.get(w, 0.0) for w in words if w not in _LEXICON.neutral_words))


def _shouting(text: str) -> bool:
    words = [w for w in _CAPS_WORD.findall(text) if w not in _LEXICON.acronyms]
    letters = [c for c in text if c.isalpha()]
    return len(words) >= 3 and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def negativity(text: str, lang: str) -> Negativity:
    score = sentiment(text, lang)
    cues = [kind for kind, pattern in _CUE_PATTERNS.items() if pattern.search(text)]
    if "threat" in cues and score > 0 and {
        m.group().lower() for m in _CUE_PATTERNS["threat"].finditer(text)
    } == {"trustpilot"}:
        cues.remove("threat")  # "5 stars on Trustpilot from me!" is praise, not a threat
    score -= 5.0 * len(cues)
    marks = len(_EXCLAMATIONS.findall(text))
    if marks >= 3 or re.search(r"[!?]{3,}", text):
        frustrated = score < 0 or bool(_FRUSTRATION.search(text))
        score -= 5.0 if frustrated else 2.0
        if frustrated:
            cues.append("exclamations")
    if _shouting(text):
        score -= 5.0
        cues.append("shouting")
    strong = bool(cues)
    return Negativity(score=score, negative=strong or score <= NEGATIVE_BELOW, cues=cues)


def is_negative(text: str, lang: str) -> bool:
    return negativity(text, lang).negative


_NOT_A_PERSON = r"(?!['’]s|\s+(?:hair|rights|error|body|size|sized|resources|nature))"
_PERSON_EN = (
    r"(?:real\s+|actual\s+|live\s+|human\s+)?(?:human(?:\s+being)?|person|people|agent|someone|somebody"
    r"|employee|staff(?:\s+member)?|representative|rep|manager|supervisor|operator|colleague"
    r"|customer\s+service|support\s+team|team\s+member)" + _NOT_A_PERSON
)
_PERSON_DA = (
    r"(?:rigtig\w*\s+|levende\s+)?(?:menneske|person|medarbejder|kundeservice|chef|leder|kollega|ansat"
    r"|nogen|en\s+af\s+jer|en\s+fra\s+(?:butikken|kundeservice|jer))"
)
_HUMAN = [
    re.compile(
        r"\b(?:talk|speak|chat|write|communicate)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s+|your\s+|the\s+|one\s+of\s+your\s+)?"
        + _PERSON_EN,
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:get|give|want|need|connect|transfer|put|pass|forward|escalate)\b[\w\s']{0,20}?\b(?:to\s+)?(?:a|an|your|some)\s+"
        + _PERSON_EN,
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:put|connect|transfer|pass|forward)\s+me\s+(?:through\s+)?to\b", re.IGNORECASE
    ),
    re.compile(r"\b(?:call|ring|phone)\s+me\b", re.IGNORECASE),
    re.compile(
        r"\b(?:can|could|will|would)\s+(?:someone|somebody|a\s+person|a\s+human|an\s+employee|a\s+staff\s+member"
        r"|an?\s+agent|a\s+colleague|one\s+of\s+you)\s+(?:call|contact|help|phone|reach|get\s+back|email|look)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:is|are)\s+there\s+(?:a\s+|an\s+|any\s+)?(?:real\s+)?(?:human|person|people|someone|agent)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:don'?t|do\s+not|won'?t)\s+want\s+(?:to\s+)?(?:talk|chat|speak|write)\s+(?:to|with)\s+(?:a\s+|an\s+|the\s+)?"
        r"(?:bot|robot|chatbot|machine|ai)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:real\s+)?(?:human|person)\s+(?:please|pls|now)\b|\breal\s+(?:human|person)\b"
        + _NOT_A_PERSON,
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:tale|snakke|skrive|chatte|taler|snakker|skriver)\s+med\s+(?:en\s+|et\s+|jeres\s+|din\s+)?"
        + _PERSON_DA,
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:giv|gi|få|faa|fa|vil\s+have|overfør|overfoer|stil|viderestil|send)\s+(?:mig\s+)?(?:videre\s+|om\s+)?"
        r"(?:til\s+)?(?:en|et)\s+" + _PERSON_DA,
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:stil|send)\s+mig\s+(?:videre|om)\b", re.IGNORECASE),
    re.compile(r"\bring\w*\s+(?:mig|til\s+mig)\b|\bringe?r?\s+mig\s+op\b", re.IGNORECASE),
    re.compile(
        r"\b(?:kan|vil|må|maa)\s+(?:en|et|nogen)\s+(?:rigtig\s+)?(?:medarbejder|menneske|person|af\s+jer|fra\s+kundeservice)\s+"
        r"(?:ringe|kontakte|skrive|hjælpe|hjaelpe|se|kigge)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bvil\s+ikke\s+(?:tale|snakke|skrive|chatte)\s+med\s+(?:en\s+)?(?:bot|robot|chatbot|maskine)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\ber\s+der\s+(?:en|et|nogen)\s+(?:rigtig\s+)?(?:person|menneske|medarbejder)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\W*(?:a\s+)?(?:human|agent|operator|representative|live\s+agent|menneske|medarbejder|person)"
        r"(?:\s+(?:please|pls|tak|nu|now|tak\s+nu))?\W*$",
        re.IGNORECASE,
    ),
]
_GDPR = [
    re.compile(
        r"\bgdpr\b|right\s+to\s+(?:be\s+forgotten|erasure)|ret\s+til\s+at\s+blive\s+glemt|blive\s+glemt"
        r"|subject\s+access|indsigtsanmodning|persondataforordning",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:slet\w*|delet\w*|eras\w*|remov\w*|fjern\w*|wipe|indsigt|access|copy|kopi|export\w*|eksport\w*)"
        r"[\w\s]{0,40}?\b(?:data|oplysninger|personoplysninger|persondata|personal\s+(?:data|information|info|details)"
        r"|information\s+(?:about|on)\s+me|oplysninger\s+om\s+mig|alt\s+om\s+mig|everything\s+about\s+me)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:slet|slette|delete|erase|close|luk)\s+(?:min|mit|my)\s+(?:konto|account|profil|profile|bruger|kundeprofil)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:what|which|hvilke|hvad)\b[\w\s]{0,25}?\b(?:data|oplysninger|personal\s+(?:information|details))\b[\w\s]{0,25}?"
        r"\b(?:about\s+me|om\s+mig|store|hold|keep|gemmer|har)\b",
        re.IGNORECASE,
    ),
]
_BUSINESS = re.compile(alternation(_LEXICON.business_words), re.IGNORECASE)




def _any_of(patterns: list[re.Pattern[str]]) -> re.Pattern[str]:
    """One pattern that matches where any of ``patterns`` does (all IGNORECASE): one pass
    over the text instead of one per pattern."""
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


_ANY_GDPR = _any_of(_GDPR)  # (the person patterns are faster apart: each skips ahead on its own)


def asks_for_human(text: str) -> bool:
    """The shopper asks for a person ("can I talk to a human", "kan jeg tale med en medarbejder")."""
    return any(p.search(text) for p in _HUMAN)


def wants_gdpr(text: str) -> bool:
    """A request to see, export or delete personal data."""
    return _ANY_GDPR.search(text) is not None


def is_business_inquiry(text: str) -> bool:
    """Press, wholesale, sponsorship or influencer business."""
    return bool(_BUSINESS.search(text))
