"""The offline embedder: deterministic lexical embeddings by signed feature hashing, with no network.

Each text becomes a bag of stemmed word unigrams (stop words dropped) and adjacent-word bigrams, plus
character 4-grams of each word at a lower weight (they let "aerodynamic" and "aerodynamics" share
mass). Each feature is hashed (BLAKE2b) to a dimension and a sign; weights are sublinear in the term
frequency (1 + ln tf) and the vector is L2-normalised, so cosine similarity is a TF-weighted lexical
overlap. Same text, same vector, on every machine. The arithmetic runs in NumPy over a batch (ADR 0107).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

UNIGRAM_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.5
CHARGRAM_WEIGHT = 0.3
CHARGRAM_SIZE = 4

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "may",
        "me",
        "might",
        "more",
        "most",
        "must",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)
_SUFFIXES = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("fulness", "ful"),
    ("iveness", "ive"),
    ("ousness", "ous"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ities", "ity"),
    ("ness", ""),
    ("ments", "ment"),
    ("ings", ""),
    ("ing", ""),
    ("edly", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ed", ""),
    ("es", "e"),
    ("ly", ""),
    ("s", ""),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A small suffix stripper (Porter-like, deliberately conservative); enough for lexical matching."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + replacement
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words in order."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


@lru_cache(maxsize=1 << 17)
def _word_features(word: str) -> tuple[str, ...]:
    """A word's unigram and its character 4-grams."""
    padded = f"<{word}>"
    grams = (
        ["c:" + padded[i : i + CHARGRAM_SIZE] for i in range(len(padded) - CHARGRAM_SIZE + 1)]
        if len(padded) > CHARGRAM_SIZE + 1
        else []
    )
    return ("w:" + word, *grams)


_KIND_WEIGHT = {"w": UNIGRAM_WEIGHT, "b": BIGRAM_WEIGHT, "c": CHARGRAM_WEIGHT}
# Distinct features (and words, bigrams) remembered before the table starts afresh: bounds a worker's memory
# (about 100 MB at the limit) while keeping the vocabulary of any realistic batch of documents.
MAX_FEATURES = 1 << 19


class _FeatureTable:
    """Every feature seen gets an integer id, with its BLAKE2b value and kind weight in arrays; a word maps to
    the ids of its features and a bigram to its id. Hashing a feature once per table instead of once per
    occurrence, and the per-text arithmetic in NumPy, are what make the embedder fast (ADR 0107)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: dict[str, np.ndarray] = {}
        self.bigrams: dict[tuple[str, str], int] = {}
        self.values = np.zeros(4096, dtype=np.uint64)
        self.weights = np.zeros(4096, dtype=np.float64)

    def size(self) -> int:
        return len(self.ids) + len(self.words) + len(self.bigrams)

    def feature_id(self, feature: str) -> int:
        found = self.ids.get(feature)
        if found is not None:
            return found
        index = len(self.ids)
        if index == len(self.values):
            self.values = np.concatenate([self.values, np.zeros_like(self.values)])
            self.weights = np.concatenate([self.weights, np.zeros_like(self.weights)])
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        self.values[index] = int.from_bytes(digest, "little")
        self.weights[index] = _KIND_WEIGHT[feature[0]]
        self.ids[feature] = index
        return index

    def word_ids(self, word: str) -> np.ndarray:
        found = self.words.get(word)
        if found is None:
            found = self.words[word] = np.array([self.feature_id(f) for f in _word_features(word)], dtype=np.int64)
        return found

    def text_ids(self, text: str) -> np.ndarray:
        """The ids of a text's features in the order they occur: every word's unigram and 4-grams, then the
        bigrams (the order in which the reference implementation first met them)."""
        words = tokenize(text)
        if not words:
            return np.zeros(0, dtype=np.int64)
        pairs = list(itertools.pairwise(words))
        bigram_ids = list(map(self.bigrams.get, pairs))
        for position, found in enumerate(bigram_ids):
            if found is None:
                first, second = pairs[position]
                found = self.bigrams[pairs[position]] = self.feature_id(f"b:{first} {second}")
                bigram_ids[position] = found
        known = list(map(self.words.get, words))
        if any(ids is None for ids in known):
            known = [self.word_ids(word) for word in words]
        return np.concatenate([*known, np.array(bigram_ids, dtype=np.int64)])


_table = _FeatureTable()
_table_lock = threading.Lock()
# 1 + ln(tf) for each term frequency tf (index), computed by math.log like the reference implementation
_tf_factors = np.array([0.0, 1.0])


def _tf_factor(counts: np.ndarray) -> np.ndarray:
    global _tf_factors
    largest = int(counts.max())
    if largest >= len(_tf_factors):
        _tf_factors = np.array([0.0, 1.0, *(1.0 + math.log(n) for n in range(2, 2 * largest + 1))])
    return _tf_factors[counts]


def hashing_embed(texts: Sequence[str], *, dimensions: int) -> list[list[float]]:
    """Embed each text as an L2-normalised signed hashed bag of features. Empty text → the zero vector.

    Each feature's weight (1 + ln tf, signed, times its kind's weight) is added to its dimension in the order
    the feature first occurs in the text, and the norm is a left-to-right sum of squares: the vectors are
    bit for bit those of the feature-by-feature loop this replaced (a test checks it)."""
    global _table
    if dimensions <= 0:
        raise ValueError("dimensions must be positive")
    if not texts:
        return []
    with _table_lock:
        if _table.size() > MAX_FEATURES:
            _table = _FeatureTable()
        table = _table
        per_text = [table.text_ids(text) for text in texts]
        values, weights = table.values, table.weights
        stride = len(values)
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
    matrix = np.zeros((len(texts), dimensions), dtype=np.float64)
    if lengths.sum():
        # One key per (text, feature): counting and first-occurrence order for the whole batch at once.
        keys = np.concatenate(per_text) + np.repeat(np.arange(len(texts), dtype=np.int64) * stride, lengths)
        unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        unique, counts = unique[order], counts[order]
        rows, features = np.divmod(unique, stride)
        hashed = values[features]
        slots = (hashed % np.uint64(dimensions)).astype(np.int64)
        signs = np.where((hashed >> np.uint64(63)) & np.uint64(1), 1.0, -1.0)
        contributions = signs * weights[features]
        repeated = counts > 1
        if repeated.any():
            contributions[repeated] = contributions[repeated] * _tf_factor(counts[repeated])
        # bincount adds in input order: the same floating-point sums as adding feature by feature.
        sums = np.bincount(rows * dimensions + slots, weights=contributions, minlength=len(texts) * dimensions)
        matrix = sums.astype(np.float64, copy=False).reshape(len(texts), dimensions)
    norms = np.sqrt(np.cumsum(matrix * matrix, axis=1)[:, -1])  # cumsum: a left-to-right sum, as before
    nonzero = norms > 0
    matrix[nonzero] = matrix[nonzero] / norms[nonzero, None]
    return matrix.tolist()  # type: ignore[no-any-return]
