"""Scenario classification: which class a shopper message belongs to, with a calibrated confidence.

Trained at start-up from the catalogue examples (well under a second on two cores):
character n-grams within words carry typos, inflections and missing æøå; word uni- and
bigrams carry the phrasing. A linear SVM scores the classes; its scores are turned into
probabilities by temperature scaling fitted on cross-validated scores, so the confidence
means something ("0.9" is right about nine times in ten) for the ask-or-hand-over decision.

Prediction does not go through scikit-learn (whose per-call overhead is several ms): the
fitted vocabularies, idf weights and coefficients are read once and a message is scored
with a sparse gather and one small matrix product.

A greeting is only a greeting when it is made of small talk: a message the model calls a
greeting but that holds other words ("hej, jeg har et spørgsmål", "kender du en god
skrædder") is vague or off-topic, and its probability goes to ``other``, whose flow asks
what the shopper wants.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain
from math import exp, sqrt

import numpy as np
from numpy.typing import NDArray
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extractOne
from scipy.optimize import minimize_scalar
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from .catalogue import Catalogue
from .folding import skeleton
from .lexicon import lexicon

Floats = NDArray[np.float64]

# Identifiers become placeholder words: "ordre 1042" and "ordre 58812" should look alike,
# and a code or an email should say "a code", "an email", not which one.
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AMOUNT = re.compile(
    r"(?:\bkr\.?|\bdkk|€|\$)\s*\d[\d.,]*|\d[\d.,]*\s*(?:kr\b\.?|kroner|dkk|,-|€|euro?\b)",
    re.IGNORECASE,
)
_MEASURE = re.compile(r"\d+(?:[.,]\d+)?\s*(?:cm|mm|kg|m)\b", re.IGNORECASE)
_CODE = re.compile(
    r"\b(?=[a-z0-9-]*\d)(?=[a-z0-9-]*[a-z]{2})[a-z0-9]+(?:-[a-z0-9]+)*\b", re.IGNORECASE
)
_NOT_CODE = re.compile(
    r"[2-5]?x{1,3}[sl]|[wl]\d{2}(?:l\d{2})?|\d+(?:st|nd|rd|th|x|stk|pcs|dage|days)", re.IGNORECASE
)
_LONG_NUMBER = re.compile(r"\d{9,}")
_ORDER_NUMBER = re.compile(r"#?\d{3,8}\b")
_NUMBER = re.compile(r"\d+(?:[.,/]\d+)?")
_SIZE = re.compile(r"\b(?:xxs|xs|s|m|l|xl|xxl|xxxl|[2-5]xl)\b")
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")
GREETING, OTHER = "greeting", "other"


def prepare(text: str) -> str:
    """The text the model sees: identifiers masked, spelling folded."""
    lowered = text.lower()
    if "http" in lowered or "www." in lowered:
        text = _URL.sub(" xurlx ", text)
    if "@" in text:
        text = _EMAIL.sub(" xemailx ", text)
    if any(c.isdigit() for c in text):  # each of these needs a digit (a code too)
        text = _AMOUNT.sub(" xamountx ", text)
        text = _MEASURE.sub(" xmeasurex ", text)
        text = _CODE.sub(lambda m: m.group() if _NOT_CODE.fullmatch(m.group()) else " xcodex ", text)
        text = _LONG_NUMBER.sub(" xlongnumx ", text)
        text = _ORDER_NUMBER.sub(" xordernox ", text)
        text = _NUMBER.sub(" xnumx ", text)
    return _SIZE.sub(" xsizex ", skeleton(text))


@dataclass(frozen=True)
class Prediction:
    scenario: str
    confidence: float
    top3: list[tuple[str, float]]


class TfidfScorer:
    """One fitted tf-idf vectorizer and a weight per feature and column (classes, FAQ entries).

    Character n-grams (``char_wb``) never cross a word boundary, so a message's grams are
    the sum of its words' grams: those are looked up once per word and kept (shoppers use
    a small vocabulary over and over), instead of slicing every word again per message.
    """

    WORD_CACHE = 1 << 15

    def __init__(self, vectorizer: TfidfVectorizer, weights: Floats) -> None:
        self._analyze: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = {
            str(k): int(v) for k, v in vectorizer.vocabulary_.items()
        }
        self._idf: Floats = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._weights = np.ascontiguousarray(weights)  # (n_features, n_classes)
        self._by_word = vectorizer.analyzer == "char_wb"
        self._word_features = lru_cache(maxsize=self.WORD_CACHE)(self._features_of)

    @property
    def width(self) -> int:
        """How many features (rows of ``weights``)."""
        return len(self._idf)

    @property
    def weights(self) -> Floats:
        return self._weights

    def _features_of(self, text: str) -> tuple[int, ...]:
        vocabulary = self._vocabulary
        return tuple(j for gram in self._analyze(text) if (j := vocabulary.get(gram)) is not None)

    def vector(self, text: str) -> tuple[NDArray[np.intp], Floats] | None:
        """The text's tf-idf vector (sublinear tf, unit length) as features and values.

        A message has a hundred or two features: on arrays that small each numpy call
        costs more than its arithmetic (several times more on a server whose caches hold
        other work between two messages), so this makes as few as it can.
        """
        if self._by_word:
            features = self._word_features
            counts = Counter(chain.from_iterable(features(word) for word in text.split()))
        else:
            counts = Counter(self._features_of(text))
        if not counts:
            return None
        idx = np.fromiter(counts, dtype=np.intp, count=len(counts))
        values: Floats = self._idf[idx]
        if len(counts) != counts.total():  # some feature more than once: sublinear tf
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            values *= np.log(tf, out=tf) + 1.0
        values /= sqrt(values @ values)
        return idx, values

    def scores(self, text: str) -> Floats | None:
        vector = self.vector(text)
        if vector is None:
            return None
        features, values = vector
        result: Floats = values @ self._weights[features]
        return result


def _vectorizers() -> list[TfidfVectorizer]:
    return [
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, dtype=np.float64
        ),
        TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float64,
        ),
    ]


def _class_scores(values: Floats) -> Floats:
    """One column per class; a two-class SVM gives one column (for the second class)."""
    values = values.reshape(len(values), -1)
    return np.hstack([-values, values]) if values.shape[1] == 1 else values


def _softmax(scores: Floats) -> Floats:
    z = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(z)
    result: Floats = e / e.sum(axis=-1, keepdims=True)
    return result


def _fit_temperature(scores: Floats, truth: NDArray[np.intp]) -> float:
    """The inverse temperature that makes softmax(beta * scores) a calibrated probability."""

    def log_loss(log_beta: float) -> float:
        probs = _softmax(np.exp(log_beta) * scores)
        return float(-np.mean(np.log(probs[np.arange(len(truth)), truth] + 1e-12)))

    best = minimize_scalar(log_loss, bounds=(-3.0, 5.0), method="bounded")
    return float(np.exp(best.x))


def _positive_words() -> set[str]:
    """AFINN's words of positive sentiment, Danish and English: thanks and praise."""
    from .signals import _afinn  # loaded once, shared with the sentiment score

    words: set[str] = set()
    for lang in ("da", "en"):
        table: dict[str, float] = _afinn(lang)._dict  # the word list; no public accessor
        words |= {skeleton(w) for w, score in table.items() if score > 0 and " " not in w}
    return words


class SmallTalk:
    """Whether a message is nothing but greeting, thanks and goodbye words.

    The words are the catalogue's greeting examples, the lexicon's ``small_talk`` and the
    positive words of AFINN's Danish and English lists ("lovely", "dejligt", "haha");
    a word of four letters or more one letter off a known one ("hjælpn", "hejj") still counts, and
    so does a capitalised word inside a sentence (a name: "tak Anna").
    """

    def __init__(self, examples: list[str]) -> None:
        vocabulary = {w for text in examples for w in _LETTER_WORD.findall(skeleton(text))}
        vocabulary |= {skeleton(w) for w in lexicon().small_talk}
        vocabulary |= _positive_words()
        self._words = frozenset(vocabulary)
        self._near = sorted(w for w in vocabulary if len(w) >= 3)

    def __call__(self, text: str) -> bool:
        for m in _LETTER_WORD.finditer(text):
            word = m.group()
            if len(word) < 2:
                continue
            if (
                word[0].isupper()
                and m.start() > 0
                and not _SENTENCE_END.search(text[: m.start()])
                and not word.isupper()
            ):
                continue  # a name inside the sentence
            key = skeleton(word)
            if key in self._words:
                continue
            if len(key) >= 4 and extractOne(
                key, self._near, scorer=Levenshtein.distance, score_cutoff=1
            ):
                continue
            return False
        return True


class ScenarioClassifier:
    """Built once from a catalogue (``train``); ``predict`` takes a fraction of a millisecond."""

    def __init__(
        self,
        classes: list[str],
        blocks: list[TfidfScorer],
        intercept: Floats,
        beta: float,
        small_talk: SmallTalk | None = None,
    ) -> None:
        self._classes = classes
        self._blocks = blocks
        # The blocks' coefficients stacked again, and where each block's features start.
        self._coef = np.vstack([b.weights for b in blocks])
        self._offsets = list(accumulate([0, *(b.width for b in blocks[:-1])]))
        self._intercept = intercept
        self._beta = beta
        index = {name: i for i, name in enumerate(classes)}
        self._greeting = index.get(GREETING)
        self._other = index.get(OTHER)
        self._small_talk = small_talk

    @classmethod
    def train(
        cls, catalogue: Catalogue, *, c: float = 0.5, folds: int = 3, seed: int = 0
    ) -> ScenarioClassifier:
        texts, labels = catalogue.training_pairs()
        prepared = [prepare(t) for t in texts]
        vectorizers = _vectorizers()
        matrix = hstack([v.fit_transform(prepared) for v in vectorizers]).tocsr()
        classes = sorted(set(labels))
        index = {name: i for i, name in enumerate(classes)}
        truth = np.array([index[label] for label in labels], dtype=np.intp)

        # Held-out scores for calibration: each fold scored by a model that never saw it.
        held_out = np.zeros((len(texts), len(classes)))
        for fit_rows, score_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            prepared, truth
        ):
            svm = LinearSVC(C=c).fit(matrix[fit_rows], truth[fit_rows])
            held_out[score_rows] = _class_scores(svm.decision_function(matrix[score_rows]))
        beta = _fit_temperature(held_out, truth)

        svm = LinearSVC(C=c).fit(matrix, truth)
        coef = _class_scores(np.asarray(svm.coef_, dtype=np.float64).T)  # (n_features, n_classes)
        intercept = _class_scores(np.asarray(svm.intercept_, dtype=np.float64)[None, :])[0]
        blocks, start = [], 0
        for vectorizer in vectorizers:
            width = len(vectorizer.vocabulary_)
            blocks.append(TfidfScorer(vectorizer, coef[start : start + width]))
            start += width
        greetings = [t for t, label in zip(texts, labels, strict=True) if label == GREETING]
        return cls(classes, blocks, intercept, beta, SmallTalk(greetings) if greetings else None)

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    def scores(self, text: str) -> Floats:
        """Raw class scores (the SVM's decision values) for one message: the blocks'
        vectors side by side, times the coefficients, in one product."""
        prepared = prepare(text)
        features: list[NDArray[np.intp]] = []
        values: list[Floats] = []
        for block, offset in zip(self._blocks, self._offsets, strict=True):
            vector = block.vector(prepared)
            if vector is not None:
                features.append(vector[0] + offset if offset else vector[0])
                values.append(vector[1])
        if not features:
            return self._intercept.copy()
        if len(features) > 1:
            features, values = [np.concatenate(features)], [np.concatenate(values)]
        result: Floats = self._intercept + values[0] @ self._coef[features[0]]
        return result

    def predict(self, text: str) -> Prediction:
        scores = (self._beta * self.scores(text)).tolist()
        top = max(scores)
        exps = [exp(s - top) for s in scores]
        total = sum(exps)
        probs = [e / total for e in exps]
        greeting, other = self._greeting, self._other
        if (
            greeting is not None
            and other is not None
            and self._small_talk is not None
            and max(range(len(probs)), key=probs.__getitem__) == greeting
            and not self._small_talk(text)
        ):
            # More than a greeting: the rest of the message says what it is about, so the
            # greeting's share goes to every class in proportion ("... tak for hjælpen").
            probs[greeting] = 0.0
            rest = sum(probs)
            probs = [p / rest for p in probs]
        order = sorted(range(len(probs)), key=probs.__getitem__, reverse=True)[:3]
        top3 = [(self._classes[i], round(probs[i], 4)) for i in order]
        return Prediction(scenario=top3[0][0], confidence=top3[0][1], top3=top3)
