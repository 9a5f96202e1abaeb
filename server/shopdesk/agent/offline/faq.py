"""Finds the store FAQ entry a message asks about (character n-gram TF-IDF, both languages)."""

from __future__ import annotations

import re
import unicodedata

from sklearn.feature_extraction.text import TfidfVectorizer

from ...store.models import FaqEntry
from ..understanding.classifier import TfidfScorer


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


def _stems(text: str) -> set[str]:
    """Content words, cut to five letters so that inflections meet ("bukser"/"buksers")."""
    return {w[:5] for w in fold(text).split() if len(w) >= 4 and w not in _FILLER}


class FaqIndex:
    def __init__(self, faq: list[FaqEntry]) -> None:
        self.entries = faq
        docs: list[str] = []
        self._owner: list[int] = []
        self._words: list[set[str]] = []
        for i, entry in enumerate(faq):
            texts = [entry.topic.replace("_", " ")]
            for text in (entry.question, entry.answer):
                if isinstance(text, dict):
                    texts.extend(text.values())
                elif text:
                    texts.append(text)
            for t in texts:
                docs.append(fold(t))
                self._owner.append(i)
            self._words.append(set().union(*(_stems(t) for t in texts)))
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        matrix = vectorizer.fit_transform(docs) if docs else None
        # Scored as the classifier scores a message (its n-grams looked up per word): the
        # same cosine as sklearn's transform + linear_kernel, without their per-call cost.
        self._scorer = TfidfScorer(vectorizer, matrix.T.toarray()) if matrix is not None else None

    def best(self, text: str, minimum: float = 0.2) -> tuple[FaqEntry, float] | None:
        if self._scorer is None:
            return None
        scores = self._scorer.scores(fold(text))
        if scores is None:
            return None
        asked: set[str] | None = None
        for doc in scores.argsort()[::-1]:
            score = float(scores[doc])
            if score < minimum:
                return None
            owner = self._owner[int(doc)]
            if score >= SURE:
                return self.entries[owner], score
            asked = _stems(text) if asked is None else asked
            if asked & self._words[owner]:
                return self.entries[owner], score
        return None

    def topic(self, name: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.topic == name), None)
