"""Token-aware chunking: about CHUNK_TOKENS tokens per chunk with overlap, split between sentences when
possible, each chunk keeping the page it starts on, its heading path and its character span."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from apps.chatbot_provider.tokens import encoding
from apps.documents.services.extract import Section

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}|\n(?=[-*•]\s|\d+[.)]\s)")


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    page: int | None
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    token_count: int


@dataclass(frozen=True)
class _Piece:
    start: int  # offsets into the joined document text
    end: int
    tokens: int
    page: int | None
    headings: tuple[str, ...]


def _sentences(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > position:
            spans.append((position, match.start()))
        position = match.end()
    if position < len(text):
        spans.append((position, len(text)))
    return spans


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """A sentence longer than a chunk is cut on token boundaries (the only mid-sentence split)."""
    enc = encoding()
    tokens = enc.encode(text[start:end], disallowed_special=())
    pieces: list[tuple[int, int, int]] = []
    offset = start
    for i in range(0, len(tokens), max_tokens):
        part = enc.decode(tokens[i : i + max_tokens])
        pieces.append((offset, min(end, offset + len(part)), len(tokens[i : i + max_tokens])))
        offset += len(part)
    return pieces


def full_text(sections: Sequence[Section]) -> str:
    return "\n\n".join(section.text for section in sections)


def _token_counts(texts: list[str]) -> list[int]:
    """Token counts of many texts. Not tiktoken's encode_ordinary_batch: it starts a thread pool per call, which
    cost more than it saved on sentences of a few dozen tokens (ADR 0107)."""
    return list(map(len, map(encoding().encode_ordinary, texts)))


def chunk_sections(sections: Sequence[Section], *, chunk_tokens: int, overlap_tokens: int) -> list[ChunkDraft]:
    """Chunks over the joined text of the sections (joined with blank lines; spans refer to it)."""
    text = full_text(sections)
    # Every sentence first, then their token counts in one batch.
    spans: list[tuple[int, int, Section]] = []
    offset = 0
    for section in sections:
        for start, end in _sentences(section.text):
            segment = section.text[start:end]
            stripped = segment.strip()
            if not stripped:
                continue
            lead = len(segment) - len(segment.lstrip())
            spans.append((offset + start + lead, offset + start + lead + len(stripped), section))
        offset += len(section.text) + 2
    pieces: list[_Piece] = []
    for (a, b, section), tokens in zip(spans, _token_counts([text[a:b] for a, b, _ in spans]), strict=True):
        if tokens > chunk_tokens:
            for pa, pb, pt in _split_long(text, a, b, chunk_tokens):
                pieces.append(_Piece(pa, pb, pt, section.page, section.heading_path))
        else:
            pieces.append(_Piece(a, b, tokens, section.page, section.heading_path))

    groups: list[list[_Piece]] = []  # the pieces of each chunk, in order
    current: list[_Piece] = []
    size = 0  # tokens in current
    new_since_emit = 0
    for piece in pieces:
        boundary = piece.headings != current[0].headings or piece.page != current[0].page if current else False
        if current and (boundary or size + piece.tokens > chunk_tokens):
            if new_since_emit:
                groups.append(current)
            # Carry whole trailing sentences as overlap, within the same heading only.
            carried: list[_Piece] = []
            carried_tokens = 0
            if not boundary:
                budget = overlap_tokens
                for previous in reversed(current):
                    if previous.tokens > budget or carried_tokens + previous.tokens + piece.tokens > chunk_tokens:
                        break
                    carried.insert(0, previous)
                    carried_tokens += previous.tokens
                    budget -= previous.tokens
            current, size = carried, carried_tokens
            new_since_emit = 0
        current.append(piece)
        size += piece.tokens
        new_since_emit += 1
    if current and new_since_emit:
        groups.append(current)

    bodies = [text[group[0].start : group[-1].end] for group in groups]
    return [
        ChunkDraft(
            ordinal=ordinal,
            text=body,
            page=group[0].page,
            heading_path=group[0].headings,
            char_start=group[0].start,
            char_end=group[-1].end,
            token_count=tokens,
        )
        for ordinal, (group, body, tokens) in enumerate(zip(groups, bodies, _token_counts(bodies), strict=True))
    ]
