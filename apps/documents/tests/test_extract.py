"""Extraction: the type comes from the content, each format yields its text with pages and headings,
and bad files fail with a specific reason."""

from __future__ import annotations

import io
import zipfile

import pytest

from apps.documents.services import errors
from apps.documents.services.extract import (
    CSV,
    DOCX,
    HTML,
    MARKDOWN,
    PDF,
    TEXT,
    decode_text,
    detect_type,
    extract,
    normalise,
)
from apps.documents.tests.fixtures import (
    BOILERPLATE_HTML,
    PAGE_TEXTS,
    make_docx,
    make_pdf,
    make_scanned_pdf,
    make_zip_bomb,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (make_pdf(), PDF),
        (make_docx(), DOCX),
        (BOILERPLATE_HTML.encode(), HTML),
        (b"# Title\n\nSome **bold** text and a [link](https://example.com).\n", MARKDOWN),
        (b"name,age,city\nAda,36,London\nAlan,41,Wilmslow\n", CSV),
        (b"Just a few plain sentences. Nothing else here.\n", TEXT),
    ],
)
def test_type_is_detected_from_content_whatever_the_name(content, expected):
    assert detect_type(content, declared_name="upload.bin") == expected


def test_unknown_binary_is_refused():
    with pytest.raises(errors.UnsupportedType):
        detect_type(PNG, declared_name="picture.png")


def test_a_file_named_pdf_that_is_not_a_pdf_is_refused():
    with pytest.raises(errors.UnsupportedType) as caught:
        detect_type(b"hello, I am text", declared_name="report.pdf")
    assert caught.value.details["declared"] == PDF


def test_pdf_text_keeps_its_page_numbers():
    extracted = extract(make_pdf(), PDF)
    assert extracted.page_count == 3
    assert [s.page for s in extracted.sections] == [1, 2, 3]
    assert "Laminar flow" in extracted.sections[2].text


def test_pdf_with_a_blank_page_reports_it_as_empty():
    extracted = extract(make_pdf(["First page text.", "", "Third page text."]), PDF)
    assert extracted.empty_pages == [2]


def test_password_protected_pdf_fails_as_encrypted():
    with pytest.raises(errors.EncryptedPdf):
        extract(make_pdf(password="s3cret"), PDF)


def test_scanned_pdf_fails_with_no_extractable_text_and_says_ocr():
    with pytest.raises(errors.NoExtractableText) as caught:
        extract(make_scanned_pdf(pages=2), PDF)
    assert "OCR" in caught.value.message
    assert caught.value.details["empty_pages"] == [1, 2]


def test_truncated_pdf_fails_as_corrupt():
    with pytest.raises((errors.CorruptFile, errors.NoExtractableText)):
        extract(make_pdf()[:200], PDF)


def test_docx_keeps_heading_paths():
    extracted = extract(make_docx(), DOCX)
    paths = {s.text: s.heading_path for s in extracted.sections}
    assert paths["A supported operating system with four gigabytes of memory."] == ("Installation", "Requirements")
    assert paths["Open the application and choose a project to start."] == ("Usage",)


def test_docx_zip_bomb_is_refused_before_decompression():
    with pytest.raises(errors.ArchiveTooLarge) as caught:
        extract(make_zip_bomb(), DOCX)
    assert caught.value.details["decompressed_bytes"] > caught.value.details["limit"]


def test_html_keeps_the_article_and_drops_navigation_header_and_footer():
    extracted = extract(BOILERPLATE_HTML.encode(), HTML)
    text = "\n".join(s.text for s in extracted.sections)
    assert "impeller every six months" in text
    assert "mechanical seal" in text
    for boilerplate in ("NAVIGATIONMENU", "SITEHEADER", "FOOTERLINKS"):
        assert boilerplate not in text
    assert ("Pump maintenance", "Seals") in [s.heading_path for s in extracted.sections]


def test_markdown_sections_carry_their_headings():
    extracted = extract(b"# Guide\n\nIntro.\n\n## Setup\n\nInstall it.\n\n```\n# not a heading\n```\n", MARKDOWN)
    assert [(s.heading_path, s.text.split("\n")[0]) for s in extracted.sections] == [
        (("Guide",), "Intro."),
        (("Guide", "Setup"), "Install it."),
    ]


def test_csv_rows_are_labelled_with_their_columns():
    extracted = extract(b"name,city\nAda,London\nAlan,Wilmslow\n", CSV)
    assert extracted.sections[0].text == "name: Ada; city: London\nname: Alan; city: Wilmslow"


def test_normalise_rejoins_hyphenated_words_and_tidies_space():
    assert normalise("aero-\ndynamic\u00a0 lift\r\n\n\n\nnext") == "aerodynamic lift\n\nnext"


def test_all_pages_have_text_in_the_generated_pdf():
    extracted = extract(make_pdf(), PDF)
    assert [s.page for s in extracted.sections] == [1, 2, 3]
    assert all(text in "\n".join(s.text for s in extracted.sections) for text in PAGE_TEXTS)


def test_docx_with_damaged_xml_fails_as_corrupt():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, zipfile.ZipFile(io.BytesIO(make_docx())) as original:
        for item in original.infolist():
            data = original.read(item.filename)
            archive.writestr(item, b"<w:document><unclosed" if item.filename == "word/document.xml" else data)
    with pytest.raises(errors.CorruptFile):
        extract(buffer.getvalue(), DOCX)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Café crème brûlée à Zürich, naïve façade.\n", "latin-1"),
        ("Grüße", "latin-1"),
        ("The \u201cquoted\u201d price \u2013 5 \u20ac, it\u2019s fine.\n", "cp1252"),
        ("Привет, мир. Это документ о насосах и их обслуживании.\n", "cp1251"),  # noqa: RUF001
        ("Plain words in UTF-16 with a byte order mark.\n", "utf-16"),
    ],
)
def test_text_in_another_encoding_is_decoded(text, encoding):
    assert decode_text(text.encode(encoding)) == text
    assert detect_type(text.encode(encoding)) == TEXT


def test_bytes_that_are_no_text_are_not_decoded():
    assert decode_text(PNG) is None
    assert decode_text(b"\x00\x01\x02\x03" + bytes(range(256))) is None


def test_text_with_more_than_two_control_characters_in_its_head_is_not_text_and_with_two_it_is():
    import sys
    import unicodedata

    controls = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]
    refused = [ch for ch in controls if decode_text(f"notes{ch}a{ch}b{ch}c".encode()) is None]
    assert refused == [ch for ch in controls if ch not in "\r\n\t\f"]
    assert decode_text(b"notes\x07a\x07b") == "notes\x07a\x07b"
    assert decode_text(("a" * 4096 + "\x07\x07\x07").encode()) is not None  # past the head: not looked at
