"""The offline embedder: deterministic lexical embeddings by signed feature hashing, with no network.

Each text becomes a bag of stemmed word unigrams (stop words dropped) and adjacent-word bigrams, plus
character 4-grams of each word at a lower weight (they let "aerodynamic" and "aerodynamics" share
mass). Each feature is hashed (BLAKE2b) to a dimension and a sign; weights are sublinear in the term
frequency (1 + ln tf) and the vector is L2-normalised, so cosine similarity is a TF-weighted lexical
overlap. Same text, same vector, on every machine.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

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
    """A word's unigram and its character 4-grams (cached: vocabularies repeat across chunks)."""
    padded = f"<{word}>"
    grams = (
        ["c:" + padded[i : i + CHARGRAM_SIZE] for i in range(len(padded) - CHARGRAM_SIZE + 1)]
        if len(padded) > CHARGRAM_SIZE + 1
        else []
    )
    return ("w:" + word, *grams)


def _features(text: str) -> Counter[str]:
    words = tokenize(text)
    feats: Counter[str] = Counter(itertools.chain.from_iterable(map(_word_features, words)))
    feats.update([f"b:{first} {second}" for first, second in itertools.pairwise(words)])
    return feats


_KIND_WEIGHT = {"w": UNIGRAM_WEIGHT, "b": BIGRAM_WEIGHT, "c": CHARGRAM_WEIGHT}


@lru_cache(maxsize=1 << 18)
def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    """The feature's dimension and signed weight (BLAKE2b; cached, the hash dominated embedding time)."""
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0) * _KIND_WEIGHT[feature[0]]


def hashing_embed(texts: Sequence[str], *, dimensions: int) -> list[list[float]]:
    """Embed each text as an L2-normalised signed hashed bag of features. Empty text → the zero vector."""
    if dimensions <= 0:
        raise ValueError("dimensions must be positive")
    vectors: list[list[float]] = []
    log, slot, mul = math.log, _slot, operator.mul
    for text in texts:
        vector = [0.0] * dimensions
        for feature, count in _features(text).items():
            index, weight = slot(feature, dimensions)
            vector[index] += weight if count == 1 else weight * (1.0 + log(count))
        norm = math.sqrt(sum(map(mul, vector, vector)))
        if norm > 0:
            vector = list(map(norm.__rtruediv__, vector))
        vectors.append(vector)
    return vectors
