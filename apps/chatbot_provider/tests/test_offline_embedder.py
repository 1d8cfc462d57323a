"""The offline embedder in NumPy gives the vectors of the feature-by-feature loop it replaced, bit for bit, so that
stored chunks, queries and retrieval quality are unchanged (ADR 0107)."""

import hashlib
import itertools
import math
import operator
import random
from collections import Counter

import pytest

from apps.chatbot_provider import offline
from apps.chatbot_provider.offline import hashing_embed, tokenize

# --- the previous implementation, verbatim (pure Python), as the reference ------------------------------------

_REFERENCE_KIND_WEIGHT = {"w": 1.0, "b": 0.5, "c": 0.3}


def _reference_word_features(word):
    padded = f"<{word}>"
    grams = ["c:" + padded[i : i + 4] for i in range(len(padded) - 4 + 1)] if len(padded) > 4 + 1 else []
    return ("w:" + word, *grams)


def _reference_features(text):
    words = tokenize(text)
    feats = Counter(itertools.chain.from_iterable(map(_reference_word_features, words)))
    feats.update([f"b:{first} {second}" for first, second in itertools.pairwise(words)])
    return feats


def _reference_slot(feature, dimensions):
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0) * _REFERENCE_KIND_WEIGHT[feature[0]]


def reference_embed(texts, *, dimensions):
    vectors = []
    log, mul = math.log, operator.mul
    for text in texts:
        vector = [0.0] * dimensions
        for feature, count in _reference_features(text).items():
            index, weight = _reference_slot(feature, dimensions)
            vector[index] += weight if count == 1 else weight * (1.0 + log(count))
        norm = math.sqrt(sum(map(mul, vector, vector)))
        if norm > 0:
            vector = list(map(norm.__rtruediv__, vector))
        vectors.append(vector)
    return vectors


# --- fixed inputs ----------------------------------------------------------------------------------------------

WORDS = [
    *("pump", "impeller", "seal", "bearing", "shaft", "pressure", "flow", "turbine", "blade", "compressor", "air"),
    *("cooling", "aerodynamic", "aerodynamics", "refund", "policy", "customer", "invoice", "payment", "order"),
    *("delivery", "warranty", "return", "contract", "2024", "v1.2", "o'clock", "naïve", "Straße"),
]


def _corpus():
    rng = random.Random(16)
    texts = [
        "",
        "the and of",  # stop words only: the zero vector
        "Pump",
        "pump pump pump pump pump",  # one feature many times: 1 + ln tf
        "The refund policy: refunds are refunded within 30 days (refund, refunds, refunding).",
        "Ünïcödé — naïve café; Straße 12 a.m. e.g. U.S.A. don't won't",
    ]
    for _ in range(40):
        texts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 600))))
    return texts


@pytest.mark.parametrize("dimensions", [1, 7, 384, 768, 1536])
def test_vectors_are_bit_for_bit_those_of_the_previous_implementation(dimensions):
    texts = _corpus()
    # Small dimensions make features collide in one slot: the order of the additions then shows in the bits.
    assert hashing_embed(texts, dimensions=dimensions) == reference_embed(texts, dimensions=dimensions)


def test_a_text_gets_the_same_vector_alone_or_in_any_batch():
    texts = _corpus()
    together = hashing_embed(texts, dimensions=64)
    assert [hashing_embed([text], dimensions=64)[0] for text in texts] == together
    assert hashing_embed(texts[::-1], dimensions=64) == together[::-1]


def test_vectors_stay_the_same_when_the_feature_table_starts_afresh(monkeypatch):
    texts = _corpus()
    before = hashing_embed(texts, dimensions=96)
    monkeypatch.setattr(offline, "MAX_FEATURES", 10)  # the next call finds the table full and replaces it
    assert hashing_embed(texts, dimensions=96) == before
    assert offline._table.size() < 10_000


def test_empty_batch_and_invalid_dimensions():
    assert hashing_embed([], dimensions=8) == []
    with pytest.raises(ValueError):
        hashing_embed(["x"], dimensions=0)
