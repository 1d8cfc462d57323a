"""Chunking: about the configured token size, whole sentences, overlap, pages and headings kept."""

from __future__ import annotations

import itertools

from apps.chatbot_provider.tokens import count_tokens
from apps.documents.services.chunk import chunk_sections, full_text
from apps.documents.services.extract import Section

SENTENCES = [f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(200)]


def test_chunks_stay_under_the_token_budget_and_end_on_sentence_boundaries():
    sections = [Section(text=" ".join(SENTENCES))]
    drafts = chunk_sections(sections, chunk_tokens=100, overlap_tokens=20)
    assert len(drafts) > 10
    for draft in drafts:
        assert draft.token_count <= 100
        assert draft.text.startswith("Sentence number") and draft.text.endswith("detail.")


def test_consecutive_chunks_overlap_by_whole_sentences():
    drafts = chunk_sections([Section(text=" ".join(SENTENCES))], chunk_tokens=100, overlap_tokens=30)
    assert len(drafts) > 10
    for first, second in itertools.pairwise(drafts):
        last_sentence = first.text.rsplit("Sentence number", 1)[1]
        assert ("Sentence number" + last_sentence) in second.text
        assert second.char_start < first.char_end


def test_character_spans_point_at_the_chunk_text():
    sections = [Section(text=" ".join(SENTENCES[:50]), page=1), Section(text=" ".join(SENTENCES[50:90]), page=2)]
    text = full_text(sections)
    drafts = chunk_sections(sections, chunk_tokens=80, overlap_tokens=10)
    assert len(drafts) > 5
    assert {d.page for d in drafts} == {1, 2}
    for draft in drafts:
        assert text[draft.char_start : draft.char_end] == draft.text


def test_chunks_keep_page_and_heading_and_do_not_cross_them():
    sections = [
        Section(text="Alpha one. Alpha two.", page=1, heading_path=("A",)),
        Section(text="Beta one. Beta two.", page=2, heading_path=("A",)),
        Section(text="Gamma one.", page=2, heading_path=("A", "G")),
    ]
    drafts = chunk_sections(sections, chunk_tokens=500, overlap_tokens=50)
    assert [(d.page, d.heading_path, d.text) for d in drafts] == [
        (1, ("A",), "Alpha one. Alpha two."),
        (2, ("A",), "Beta one. Beta two."),
        (2, ("A", "G"), "Gamma one."),
    ]


def test_a_sentence_longer_than_a_chunk_is_split_on_tokens():
    long_sentence = "word " * 700
    drafts = chunk_sections([Section(text=long_sentence.strip())], chunk_tokens=200, overlap_tokens=0)
    assert len(drafts) >= 3
    assert all(d.token_count <= 201 for d in drafts)


def test_token_counts_use_the_offline_encoding():
    assert count_tokens("hello world") == 2


def test_chunking_is_deterministic():
    sections = [Section(text=" ".join(SENTENCES))]
    assert len(chunk_sections(sections, chunk_tokens=120, overlap_tokens=20)) > 10
    assert chunk_sections(sections, chunk_tokens=120, overlap_tokens=20) == chunk_sections(
        sections, chunk_tokens=120, overlap_tokens=20
    )
