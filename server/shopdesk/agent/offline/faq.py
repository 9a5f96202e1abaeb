"""Finds the store FAQ entry a message asks about (character n-gram TF-IDF, both languages)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from sklearn.feature_extraction.text import TfidfVectorizer

from ...store.models import FaqEntry
from ..understanding.classifier import TfidfScorer
from ..understanding.lexicon import lexicon


def fold(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]+", " ", text)


# Below this score a match must share a word with the entry: letter n-grams alone find
# "tørretumbleren" close to "fri fragt" and would answer a care question with shipping.
SURE = 0.5
# Words that say nothing of what a question is about.
_FILLER = frozenset(
    ["what", "when", "where", "which", "with", "your", "have", "does", "that", "this", "there", "their", "about", "would", "could", "should", "will", "want", "need", "like", "just", "also", "some", "from", "into", "over", "then", "than", "them", "they", "were", "been", "being", "hvad", "hvor", "hvornaar", "hvordan", "hvilken", "hvilke", "hvis", "have", "har", "jeres", "eller", "ogsaa", "gerne", "bare", "lige", "noget", "nogen", "kunne", "skal", "ville", "hvem", "ikke", "efter", "inden", "over", "under", "mere", "meget"]
)


def _synonym_pattern() -> tuple[re.Pattern[str], dict[str, str | None]]:
    """One pattern over every synonym phrase of the lexicon (folded as messages are), and
    the canonical word of each; None for the phrases in which it means something else
    (longer, so they win where both match: "won't open" is no opening hours)."""
    words = lexicon()
    canonical: dict[str, str | None] = {fold(p).strip(): None for p in words.faq_synonym_false_friends}
    canonical |= {fold(p).strip(): word for word, phrases in words.faq_synonyms.items() for p in phrases}
    ordered = sorted((p for p in canonical if p), key=len, reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, p.split())) for p in ordered) or "(?!)"
    return re.compile(r"(?<![a-z0-9])(?:" + body + r")(?![a-z0-9])"), canonical


_SYNONYMS, _CANONICAL = _synonym_pattern()


def _canonical_words(folded: str) -> list[str]:
    """The canonical words of the synonyms a folded text holds."""
    return sorted({word for m in _SYNONYMS.finditer(folded)
                   if (word := _CANONICAL[re.sub(r"\s+", " ", m.group())])})


def normalize(text: str) -> str:
    """The folded text with the canonical word of every synonym it holds added: "can I call
    you" and "How can I contact you?" then share "contact", whatever else they say."""
    folded = fold(text)
    found = _canonical_words(folded)
    return f"{folded} {' '.join(found)}" if found else folded


def _stems(text: str) -> set[str]:
    """Content words, cut to five letters so that inflections meet ("bukser"/"buksers")."""
    return {w[:5] for w in fold(text).split() if len(w) >= 4 and w not in _FILLER}


def _texts(text: str | dict[str, str] | None) -> list[str]:
    """The texts of a field that is one text or one per language."""
    if isinstance(text, dict):
        return list(text.values())
    return [text] if text else []


class FaqIndex:
    def __init__(self, faq: list[FaqEntry]) -> None:
        self.entries = faq
        docs: list[str] = []
        self._owner: list[int] = []
        self._words: list[set[str]] = []
        # The canonical synonym words each entry is about (from its topic and question).
        self._about: list[set[str]] = []
        for i, entry in enumerate(faq):
            # Synonyms say what an entry is about: its topic and question, or its answer
            # when it has no question. An answer names much in passing ("the shop in
            # Aarhus is open ...", "chat and phone weekdays") that it is not about.
            about = [entry.topic.replace("_", " "), *_texts(entry.question)]
            answers = _texts(entry.answer)
            texts = [normalize(t) for t in about] + [
                normalize(t) if entry.question is None else fold(t) for t in answers]
            for t in texts:
                docs.append(t)
                self._owner.append(i)
            self._words.append(set().union(*(_stems(t) for t in texts)))
            said = about if entry.question is not None else [*about, *answers]
            self._about.append({w for t in said for w in _canonical_words(fold(t))})
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        matrix = vectorizer.fit_transform(docs) if docs else None
        # Scored as the classifier scores a message (its n-grams looked up per word): the
        # same cosine as sklearn's transform + linear_kernel, without their per-call cost.
        self._scorer = TfidfScorer(vectorizer, matrix.T.toarray()) if matrix is not None else None

    def best(self, text: str, minimum: float = 0.2) -> tuple[FaqEntry, float] | None:
        return next(self.ranked(text, minimum), None)

    def ranked(self, text: str, minimum: float = 0.2) -> Iterator[tuple[FaqEntry, float]]:
        """The entries the message may ask about, closest first, each once."""
        if self._scorer is None:
            return
        asked_text = normalize(text)
        scores = self._scorer.scores(asked_text)
        if scores is None:
            return
        asked: set[str] | None = None
        seen: set[int] = set()
        for doc in scores.argsort()[::-1]:
            score = float(scores[doc])
            if score < minimum:
                return
            owner = self._owner[int(doc)]
            if owner in seen:
                continue
            if score < SURE:
                asked = _stems(asked_text) if asked is None else asked
                if not asked & self._words[owner]:
                    continue
            seen.add(owner)
            yield self.entries[owner], score

    def best_about(self, text: str, word: str) -> FaqEntry | None:
        """Of the entries about ``word`` (a canonical synonym of the lexicon, in their topic
        or question), the one closest to the message; None when no entry is about it. An
        entry that only mentions it in passing ("... comes with a 2-year warranty on the
        plating" in an answer about jewellery) is not about it."""
        owners = [i for i, words in enumerate(self._about) if word in words]
        if not owners or self._scorer is None:
            return None
        if len(owners) == 1:
            return self.entries[owners[0]]
        scores = self._scorer.scores(normalize(text))
        if scores is None:
            return self.entries[owners[0]]
        docs = [d for d, owner in enumerate(self._owner) if owner in owners]
        return self.entries[self._owner[max(docs, key=lambda d: float(scores[d]))]]

    def topic(self, name: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.topic == name), None)
