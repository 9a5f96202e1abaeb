"""Which of the store's products a message names, tolerant of typos and partial names.

"the quilted jacket", "quiltet jakke", "quilted jakcet", "regnjakken", "regn jakke" all name
a product whose title (in any locale) or handle they share words with. Each title word
weighs by how rare it is in the catalogue (idf): "quilted" names one product, "jacket"
names several. A product matches when most of its title's weight is in the message, or
when the message holds, near enough letter for letter, a word only that product has.
Scoring is one rapidfuzz call per new word, kept for the next message that has it.

Danish names things by compounds and inflects them: "skjorten" is the shirt, and the only
shirt of a store may be its "Oxfordskjorte"; "frakken" its "Uldfrakke", "støvlerne" its
"Chelsea støvler". A message word, with its ending taken off (-en, -et, -ne, -erne, -er,
...), that is the tail of a title word (four letters or more, after a head of three or
more) names that product when no other product's title has that tail or that word. Tails
are looked up in a table built with the index, so this costs a few dictionary look-ups.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from shopdesk.store.models import Product

from .folding import fold, skeleton
from .language import is_common_word
from .lexicon import lexicon

_TOKEN = re.compile(r"[a-z0-9]+")
_HYPHEN_IN_WORD = re.compile(r"(?<=[a-z])-(?=[a-z])")
# Words in titles that name nothing.
_STOP = frozenset(
    skeleton(w)
    for w in [
        "the",
        "a",
        "an",
        "and",
        "of",
        "with",
        "for",
        "in",
        "on",
        "to",
        "by",
        "og",
        "med",
        "til",
        "af",
        "i",
        "en",
        "et",
        "den",
        "det",
        "de",
        "men",
        "women",
        "herre",
        "dame",
        "unisex",
        "kids",
        "new",
        "ny",
        "nye",
        "one",
    ]
)
_SUFFIXES = ("erne", "ene", "en", "er", "et", "es", "s", "e", "n")
# Endings of a Danish or English noun, taken off a message word to find its dictionary form.
_ENDINGS = ("erne", "ene", "ers", "ens", "ets", "en", "et", "ne", "er", "es", "e", "n", "s")
MIN_COVERAGE = 0.6
MIN_TAIL, MIN_HEAD = 4, 3
WORD_CACHE = 1 << 14  # message words whose hits are kept (each a few sparse entries)
TAIL_QUALITY = 0.9  # "skjorten" for "Oxfordskjorte": a sure name, a little less than the word


@dataclass(frozen=True)
class ProductMatch:
    product_id: str
    score: float  # 0..1: the share of the title's weight found in the message
    title: str


def _stem(word: str) -> str:
    """A crude stem so that "jakken"/"jakke", "boots"/"boot", "huen"/"hue" compare equal."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _forms(word: str) -> list[str]:
    """The word and what it may be without its ending: "skjorten" -> skjorten, skjort, skjorte."""
    forms = [word]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_TAIL:
            forms.append(word[: -len(ending)])
    return forms


def _words(text: str) -> list[str]:
    words = _TOKEN.findall(_HYPHEN_IN_WORD.sub("", skeleton(text)))
    return list(dict.fromkeys(w for w in words if w not in _STOP))


_DIGRAPH = re.compile(r"ae|oe|aa")


def _digraph_words(text: str) -> list[str]:
    """Words whose "ae"/"oe"/"aa" may be letters of their own, not a Danish letter typed
    without its key: "parkaen" is the parka ("parka" + "en"), not "parken"."""
    folded = fold(text)
    if not _DIGRAPH.search(folded):
        return []
    return [w for w in _TOKEN.findall(_HYPHEN_IN_WORD.sub("", folded)) if _DIGRAPH.search(w) and w not in _STOP]


def _cutoff(length: int) -> float:
    """How alike (rapidfuzz ratio) a word must be to a title word of this length.

    One wrong letter in a short word makes another word ("pakke"/"jakke" = 80), one
    missing or extra letter rarely does ("linen"/"linnen" = 91, "wool"/"wol" = 86).
    """
    return 100.0 if length <= 3 else 85.0 if length <= 5 else 83.0 if length <= 7 else 80.0


class ProductIndex:
    """Built once per store from its products."""

    def __init__(self, products: list[Product]) -> None:
        self._products = {p.id: p for p in products}
        self._handles = {p.handle: p.id for p in products if p.handle}
        rows: list[tuple[str, str, list[str]]] = []  # (product id, shown title, words)
        for product in products:
            names = product.titles() + (
                [product.handle.replace("-", " ")] if product.handle else []
            )
            seen: set[tuple[str, ...]] = set()
            for name in names:
                words = _words(name)
                if words and tuple(words) not in seen:
                    seen.add(tuple(words))
                    rows.append((product.id, product.titles()[0], words))
        vocabulary = sorted({w for _, _, words in rows for w in words})
        column = {w: j for j, w in enumerate(vocabulary)}
        # A word's document frequency counts compounds: "jakke" is in "regnjakke" too.
        product_words: dict[str, set[str]] = {}
        for pid, _, words in rows:
            product_words.setdefault(pid, set()).update(words)
        df = {
            w: sum(
                1
                for ws in product_words.values()
                if any(w == x or (len(w) >= 4 and w in x) for x in ws)
            )
            for w in vocabulary
        }
        n = max(len(products), 1)
        idf = np.array([math.log(1 + n / df[w]) for w in vocabulary])
        weights = np.zeros((len(rows), len(vocabulary)))
        for i, (_, _, words) in enumerate(rows):
            for w in words:
                weights[i, column[w]] = idf[column[w]]
        totals = weights.sum(axis=1, keepdims=True)
        self._rows = rows
        self._vocabulary = vocabulary
        self._stems = np.array([_stem(w) for w in vocabulary], dtype=object)
        self._weights: NDArray[np.float64] = weights / np.where(totals > 0, totals, 1)
        self._lengths = np.array([len(w) for w in vocabulary])
        self._cutoffs = np.array([_cutoff(len(w)) for w in vocabulary])
        self._long_words = [j for j, w in enumerate(vocabulary) if len(w) >= 4]
        everyday = {skeleton(w) for w in lexicon().product_word_stop}
        self._unique = np.array(
            [
                df[w] == 1 and len(w) >= 4 and not w.isdigit() and w not in everyday
                for w in vocabulary
            ]
        )
        # A short title word only one product has ("Knude hue") names it as written, with
        # the Danish definite -n or the plural -s ("huen", "hats"), not with any ending:
        # "lavet" is no form of "lav".
        self._short: dict[str, int] = {
            form: j
            for j, w in enumerate(vocabulary)
            if len(w) == 3 and df[w] == 1 and w.isalpha() and not is_common_word(w) and w not in everyday
            for form in (w, w + "n", w + "s")
        }
        self._tails = self._tail_table(rows, vocabulary)
        self._word_hits = lru_cache(maxsize=WORD_CACHE)(self._hits_of)

    @staticmethod
    def _tail_table(
        rows: list[tuple[str, str, list[str]]], vocabulary: list[str]
    ) -> dict[str, list[int]]:
        """Tail of a compound title word -> the columns of the words it ends, when one product has it.

        "skjorte" -> [column of "oxfordskjorte"] when no other product's title has a word
        that is or ends in "skjorte"; tails that are everyday words ("kort", "over") are left out.
        """
        stop = {skeleton(w) for w in lexicon().product_word_stop}
        word_products: dict[str, set[str]] = {}
        for pid, _, words in rows:
            for w in words:
                word_products.setdefault(w, set()).add(pid)
        tail_products: dict[str, set[str]] = {}
        tail_columns: dict[str, set[int]] = {}
        for j, word in enumerate(vocabulary):
            if word.isdigit():
                continue
            for start in range(len(word) - MIN_TAIL + 1):
                if 0 < start < MIN_HEAD:
                    continue
                tail = word[start:]
                tail_products.setdefault(tail, set()).update(word_products[word])
                # the whole word too, for endings its stem misses ("cardiganen"), unless it
                # is an everyday word ("vide" in "med vide ben")
                if start or not is_common_word(word):
                    tail_columns.setdefault(tail, set()).add(j)
        return {
            tail: sorted(columns)
            for tail, columns in tail_columns.items()
            if len(tail_products[tail]) == 1 and tail not in stop and tail not in _STOP
        }

    def resolve(self, ref: str | None) -> str | None:
        """A product id from an id or a handle (what ``page.product`` holds)."""
        if not ref:
            return None
        if ref in self._products:
            return ref
        return self._handles.get(ref)

    def get(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def _hits_of(self, word: str) -> tuple[NDArray[np.intp], NDArray[np.float64], tuple[int, ...]]:
        """What one message word says about each title word: the columns it names, how
        surely (0..1), and which of them it names by a compound's tail.

        A message is the sum of its words, and shoppers use the same words over and over,
        so this is kept per word (``_word_hits``): a message then costs a few look-ups.
        """
        whole = cdist(self._vocabulary, [word], scorer=fuzz.ratio)[:, 0]
        best = np.where(self._stems == _stem(word), 100.0,
                        np.where(whole >= self._cutoffs, whole, 0.0))
        # "regnjakken" holds the title word "jakke": it counts, a little less. The other way
        # round ("jakke" is part of the title word "regnjakke") names nothing in particular.
        for j in self._long_words:
            title_word = self._vocabulary[j]
            if best[j] < 90.0 and len(word) > len(title_word) and title_word in word:
                best[j] = 90.0
        quality = best / 100.0
        # "skjorten" -> "Oxfordskjorte": a tail only one product's title word ends in.
        tails: list[int] = []
        for form in _forms(word):
            if form == word[:-2] and word.endswith("es"):
                continue  # an English plural, never a Danish compound's ending: "theres" is no "leather"
            for j in self._tails.get(form, ()):
                quality[j] = max(quality[j], TAIL_QUALITY)
                tails.append(j)
        columns = np.flatnonzero(quality)
        return columns, quality[columns], tuple(dict.fromkeys(tails))

    def match(self, text: str) -> list[ProductMatch]:
        words = _words(text)
        if not words or not self._vocabulary:
            return []
        words += [w for w in _digraph_words(text) if w not in words]
        # "regn jakke" should find "Regnjakke": adjacent words are tried joined as well.
        words += [a + b for a, b in pairwise(words) if len(a) >= 3 and len(b) >= 3]
        hits = [hit for hit in map(self._word_hits, words) if len(hit[0]) or hit[2]]
        short = [self._short[word] for word in words if word in self._short]
        if not hits and not short:
            return []  # no word of the message is in a title: most messages
        quality = np.zeros(len(self._vocabulary))
        tail_hit = np.zeros(len(self._vocabulary), dtype=bool)
        for columns, values, tails in hits:
            if len(columns):
                quality[columns] = np.maximum(quality[columns], values)
            if tails:
                tail_hit[list(tails)] = True
        # Only the columns the message touched count: a few, whatever the catalogue's size.
        touched = np.flatnonzero(quality)
        coverage = self._weights[:, touched] @ quality[touched]
        for columns in short:
            tail_hit[columns] = True
        sure = np.flatnonzero((self._unique & (quality >= 0.92)) | tail_hit)
        unique_hit = (self._weights[:, sure] > 0).any(axis=1)
        found: dict[str, ProductMatch] = {}
        for i in np.flatnonzero((coverage >= MIN_COVERAGE) | unique_hit):
            pid, title, _ = self._rows[i]
            score = round(float(coverage[i]), 3)
            if pid not in found or found[pid].score < score:
                found[pid] = ProductMatch(product_id=pid, score=score, title=title)
        return sorted(found.values(), key=lambda m: -m.score)
