"""The offline answerer: a deterministic extractive reply built from the best retrieved sentences.

It never invents text: every sentence of the reply is a whole sentence quoted from a passage (headings and
labels are not quoted) and followed by that passage's [n] marker; the document's own bracketed numbers ("[4]")
are shown with full-width brackets so that they cannot be taken for markers. Only sentences relevant to the
question are kept: a sentence must share question terms (stop words removed) and score at least
RELATIVE_RELEVANCE of the best sentence, so a sentence that merely shares one common word ("days") with the
question is not quoted next to the answer. Sentences that address an assistant ("ignore your instructions",
"system prompt", ...) are never quoted, so a poisoned document cannot steer the reply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,60}\b(instructions?|prompts?|rules?|guidelines?)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bnew instructions\b|\bas an ai\b|\bassistant must\b",
    re.IGNORECASE | re.DOTALL,
)
_STOPWORD_TEXT = (
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
    "me my no not of on or our so than that the their them then there these they this those to was we were "
    "what when where which who whom why will with would you your about tell please many much per"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# A sentence is quoted only if its relevance reaches this share of the best sentence's.
RELATIVE_RELEVANCE = 0.5
# Docent's citation markers: [1], [1, 2]. The same pattern inside document text (a paper's "[4] [5]") is
# rewritten with full-width brackets before any model or this answerer sees it (`defuse_markers`).
MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
# A heading or a list label ("Refund policy") is not a sentence to quote: at least this many words, or an end mark.
MIN_SENTENCE_WORDS = 5


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and len(s.strip()) > 2]


def defuse_markers(text: str) -> str:
    """Document text whose bracketed numbers cannot be read as Docent's citation markers: "[4]" becomes "4" between
    full-width brackets (U+FF3B, U+FF3D), which read the same."""
    return MARKER.sub(lambda m: f"\uff3b{m.group(1)}\uff3d", text)


def is_whole_sentence(sentence: str) -> bool:
    words = sentence.split()
    return len(words) >= MIN_SENTENCE_WORDS or (len(words) >= 3 and sentence.rstrip()[-1:] in ".!?")


def looks_like_injection(sentence: str) -> bool:
    return bool(_INJECTION.search(sentence))


def _with_marker(sentence: str, marker: int) -> str:
    sentence = " ".join(sentence.split())
    if sentence[-1] in ".!?":
        return f"{sentence[:-1]} [{marker}]{sentence[-1]}"
    return f"{sentence} [{marker}]."


def extractive_answer(*, question: str, passages: Sequence[str], max_sentences: int = 3) -> str:
    """Up to `max_sentences` sentences from `passages` (numbered from 1), most relevant first in reading order."""
    wanted = set(terms(question))
    scored: list[tuple[float, float, int, int, str]] = []
    fallback: tuple[int, str] | None = None
    for number, passage in enumerate(passages, start=1):
        for position, sentence in enumerate(split_sentences(defuse_markers(passage))):
            if looks_like_injection(sentence) or not is_whole_sentence(sentence):
                continue
            if fallback is None:
                fallback = (number, sentence)
            words = set(terms(sentence))
            overlap = len(wanted & words)
            if overlap == 0:
                continue
            relevance = overlap / math.sqrt(len(words) + 1)
            scored.append((-(relevance - 0.01 * number), relevance, number, position, sentence))
    scored.sort()
    best = max((item[1] for item in scored), default=0.0)
    relevant = [item for item in scored if item[1] >= RELATIVE_RELEVANCE * best]
    chosen = sorted(relevant[:max_sentences], key=lambda item: (item[2], item[3]))
    if not chosen:
        return _with_marker(fallback[1], fallback[0]) if fallback else ""
    return " ".join(_with_marker(sentence, number) for _, _, number, _, sentence in chosen)
