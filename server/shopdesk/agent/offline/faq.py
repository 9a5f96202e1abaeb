"""Finds the store FAQ entry a message asks about (character n-gram TF-IDF, both languages)."""

from __future__ import annotations

import re
import unicodedata

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from ...store.models import FaqEntry


def fold(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]+", " ", text)


class FaqIndex:
    def __init__(self, faq: list[FaqEntry]) -> None:
        self.entries = faq
        docs: list[str] = []
        self._owner: list[int] = []
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
        self._vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self._matrix = self._vec.fit_transform(docs) if docs else None

    def best(self, text: str, minimum: float = 0.2) -> tuple[FaqEntry, float] | None:
        if self._matrix is None:
            return None
        scores = linear_kernel(self._vec.transform([fold(text)]), self._matrix)[0]
        best_doc = int(scores.argmax())
        score = float(scores[best_doc])
        if score < minimum:
            return None
        return self.entries[self._owner[best_doc]], score

    def topic(self, name: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.topic == name), None)
