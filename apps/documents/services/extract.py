"""Content sniffing and text extraction: one function per format, each returning ExtractedText.

The type comes from the bytes (magic numbers, zip members, markup), never from the file name.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings

from apps.documents.services.errors import (
    ArchiveTooLarge,
    CorruptFile,
    EncryptedPdf,
    NoExtractableText,
    UnsupportedContent,
    UnsupportedType,
)
from apps.documents.types import CSV, DOCX, HTML, MARKDOWN, PDF, TEXT

_BINARY_DECLARED = {".pdf": PDF, ".docx": DOCX, "application/pdf": PDF, DOCX: DOCX}


@dataclass(frozen=True)
class Section:
    """A run of text with the page it is on (PDF) and the headings above it."""

    text: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()


@dataclass
class ExtractedText:
    sections: list[Section]
    page_count: int = 0
    empty_pages: list[int] = field(default_factory=list)

    @property
    def characters(self) -> int:
        return sum(len(s.text) for s in self.sections)


# --- detection ---------------------------------------------------------------------------------------


# Among about equally plausible guesses for a legacy 8-bit encoding, the most common one for Western text
# (a superset of Latin-1's printable characters). The language coherence of a short text is noisy: a guess
# this much more coherent than Windows-1252 (as Windows-1254 is for Turkish text) still wins.
_PREFERRED_LEGACY = "cp1252"
_COHERENCE_MARGIN = 0.1


def _decode_legacy(data: bytes) -> str | None:
    """Text in another encoding (Latin-1, Windows-1252, Shift JIS ...) as charset-normalizer judges it;
    None when no encoding makes sense of the bytes (binary)."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        tied = match.chaos <= best.chaos and match.coherence >= best.coherence - _COHERENCE_MARGIN
        if tied and _PREFERRED_LEGACY in match.could_be_from_charset:
            try:
                return data.decode(_PREFERRED_LEGACY)
            except UnicodeDecodeError:
                break
    return str(best)


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else the legacy encoding the bytes are in;
    None when the bytes are not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    text: str | None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of a sample is still UTF-8 text.
        text = data[: exc.start].decode("utf-8-sig") if exc.reason == "unexpected end of data" else None
    if text is None:
        if b"\x00" in data[:4096]:
            return None  # no 8-bit text encoding uses NUL
        text = _decode_legacy(data)
        if text is None:
            return None
    return None if len(_CONTROLS.findall(text, 0, 4096)) > 2 else text


# The control characters (Unicode category Cc: U+0000 to U+001F and U+007F to U+009F) that text does not carry:
# all but tab, line feed, form feed and carriage return. One regular expression over the first 4 KiB instead of
# a `unicodedata.category` call per character (0.15 ms against 0.01 a call).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _looks_like_html(head: str) -> bool:
    start = head.lstrip()[:2048].lower()
    return start.startswith("<") and bool(re.search(r"<!doctype html|<(html|head|body)[\s>]", start))


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    counts = {len(row) for row in csv.reader(lines, dialect)}
    return len(counts) == 1 and counts.pop() >= 2


def _looks_like_markdown(text: str) -> bool:
    return bool(re.search(r"^(#{1,6} \S|```|\* \S|- \S|\d+\. \S|> \S)", text[:20000], re.MULTILINE)) and bool(
        re.search(r"^#{1,6} \S|\[[^\]]+\]\([^)]+\)|\*\*\S", text[:20000], re.MULTILINE)
    )


def detect_type(
    data: bytes, *, declared_name: str = "", declared_type: str = "", archive: IO[bytes] | None = None
) -> str:
    """The MIME type of the content. Raises UnsupportedType for unknown binaries and declared-type lies.

    `data` may be only the head of the file (64 KiB suffice for text formats) when `archive`, a seekable file
    of the whole content, is given: a zip archive is then opened from it."""
    declared = ""
    name = declared_name.lower()
    for key, value in _BINARY_DECLARED.items():
        if name.endswith(key) or declared_type.lower() == key:
            declared = value
    detected = ""
    if data.startswith(b"%PDF-"):
        detected = PDF
    elif data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(archive if archive is not None else io.BytesIO(data)) as opened:
                names = set(opened.namelist())
        except zipfile.BadZipFile:
            raise UnsupportedType("The file looks like a zip archive but cannot be read.") from None
        if "word/document.xml" in names:
            detected = DOCX
        else:
            raise UnsupportedType("Zip archives other than Word documents (.docx) are not supported.")
    else:
        text = decode_text(data[:65536])
        if text is None:
            raise UnsupportedType()
        if _looks_like_html(text):
            detected = HTML
        elif _looks_like_csv(text):
            detected = CSV
        elif _looks_like_markdown(text):
            detected = MARKDOWN
        else:
            detected = TEXT
    if declared and declared != detected:
        raise UnsupportedType(
            "The file's content does not match its declared type.",
            details={"declared": declared, "detected": detected},
        )
    return detected


# --- normalisation -----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise(text: str) -> str:
    """NFKC, no control characters, words re-joined across hyphenated line breaks, tidy whitespace."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


# --- extractors --------------------------------------------------------------------------------------


def extract_pdf(data: bytes) -> ExtractedText:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise EncryptedPdf()
            except (FileNotDecryptedError, NotImplementedError):
                raise EncryptedPdf() from None
        sections: list[Section] = []
        empty: list[int] = []
        pages = reader.pages
        for number, page in enumerate(pages, start=1):
            text = normalise(page.extract_text() or "")
            if text:
                sections.append(Section(text=text, page=number))
            else:
                empty.append(number)
        page_count = len(pages)
    except (EncryptedPdf, NoExtractableText):
        raise
    except FileNotDecryptedError:
        raise EncryptedPdf() from None
    except (PdfReadError, PyPdfError) as exc:
        raise CorruptFile(f"The PDF cannot be read: {exc}.") from None
    except Exception as exc:  # a damaged file can make the parser fail in any way
        raise CorruptFile(f"The PDF cannot be read ({type(exc).__name__}).") from None
    result = ExtractedText(sections=sections, page_count=page_count, empty_pages=empty)
    if not sections:
        raise NoExtractableText(
            f"No text on any of the {page_count} page(s): the PDF holds only images (a scan?). "
            "Run OCR on it and upload the result.",
            details={"pages": page_count, "empty_pages": empty},
        )
    return result


def check_archive(data: bytes) -> None:
    """Refuse zip bombs before any decompression: declared sizes are bounded (zipfile enforces them)."""
    limit = settings.DOCUMENTS_MAX_DECOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise CorruptFile("The Word document is not a valid zip archive.") from None
    total = sum(info.file_size for info in infos)
    if len(infos) > 10000 or total > limit:
        raise ArchiveTooLarge(
            f"The document expands to {total:,} bytes, more than the {limit:,} allowed.",
            details={"decompressed_bytes": total, "limit": limit},
        )


def extract_docx(data: bytes) -> ExtractedText:
    check_archive(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        sections: list[Section] = []
        headings: list[str] = []
        # Resolving a paragraph's style searches the styles part: once per style id, not once per paragraph.
        style_names: dict[str | None, str] = {}
        for paragraph in document.paragraphs:
            text = normalise(paragraph.text)
            if not text:
                continue
            style_id = paragraph._p.style
            if style_id not in style_names:
                style_names[style_id] = (paragraph.style.name if paragraph.style is not None else "") or ""
            style = style_names[style_id]
            match = re.match(r"Heading (\d)", style)
            if match or style == "Title":
                level = int(match.group(1)) if match else 1
                headings = [*headings[: level - 1], text]
                continue
            sections.append(Section(text=text, heading_path=tuple(headings)))
        for table in document.tables:
            rows = [" | ".join(normalise(cell.text) for cell in row.cells) for row in table.rows]
            text = "\n".join(row for row in rows if row.strip(" |"))
            if text:
                sections.append(Section(text=text, heading_path=tuple(headings)))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise CorruptFile(f"The Word document cannot be read: {exc}.") from None
    except Exception as exc:  # damaged XML inside the package, among others
        raise CorruptFile(f"The Word document cannot be read ({type(exc).__name__}).") from None
    if not sections:
        raise NoExtractableText("The Word document contains no text.")
    return ExtractedText(sections=sections)


def _markdown_sections(text: str) -> list[Section]:
    sections: list[Section] = []
    headings: list[str] = []
    buffer: list[str] = []
    in_fence = False

    def flush() -> None:
        body = normalise("\n".join(buffer))
        if body:
            sections.append(Section(text=body, heading_path=tuple(headings)))
        buffer.clear()

    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            buffer.append(line)
            continue
        match = None if in_fence else re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if match:
            flush()
            level = len(match.group(1))
            headings = [*headings[: level - 1], match.group(2).strip()]
        else:
            buffer.append(line)
    flush()
    return sections


def extract_markdown(data: bytes) -> ExtractedText:
    text = decode_text(data)
    if text is None:
        raise CorruptFile("The file is not readable text.")
    sections = _markdown_sections(text)
    if not sections:
        raise NoExtractableText("The Markdown file contains no text.")
    return ExtractedText(sections=sections)


def extract_html(data: bytes) -> ExtractedText:
    import trafilatura

    text = decode_text(data)
    if text is None:
        raise CorruptFile("The HTML page is not readable text.")
    cleaned = _strip_boilerplate(text)
    markdown = trafilatura.extract(
        cleaned, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
    )
    if not markdown:
        markdown = _html_text(cleaned)
    sections = _markdown_sections(markdown or "")
    if not sections:
        raise NoExtractableText("The page has no readable text once navigation and boilerplate are removed.")
    return ExtractedText(sections=sections)


def _strip_boilerplate(text: str) -> str:
    """Drop elements that are never the page's content (navigation, header, footer, scripts, forms)."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(text)
    except Exception:  # lxml raises several types on garbage
        return text
    for bad in tree.xpath(
        "//script|//style|//nav|//header|//footer|//aside|//noscript|//form|//iframe"
        "|//*[@role='navigation' or @role='banner' or @role='contentinfo']"
    ):
        bad.drop_tree()
    return str(lxml.html.tostring(tree, encoding="unicode"))


def _html_text(text: str) -> str:
    import lxml.html

    try:
        return str(lxml.html.fromstring(text).text_content())
    except Exception:
        return ""


def extract_text(data: bytes) -> ExtractedText:
    text = decode_text(data)
    if text is None:
        raise CorruptFile("The file is not readable text.")
    body = normalise(text)
    if not body:
        raise NoExtractableText("The text is empty.")
    return ExtractedText(sections=[Section(text=body)])


def extract_csv(data: bytes) -> ExtractedText:
    text = decode_text(data)
    if text is None:
        raise CorruptFile("The CSV file is not readable text.")
    lines = text.splitlines()
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|")
        rows = list(csv.reader(lines, dialect))
    except csv.Error as exc:
        raise CorruptFile(f"The CSV file cannot be parsed: {exc}.") from None
    if not rows:
        raise NoExtractableText("The CSV file is empty.")
    header, body = rows[0], rows[1:]
    # One line per row, each value labelled with its column, so a chunk is readable on its own.
    rendered = [
        "; ".join(f"{name.strip()}: {value.strip()}" for name, value in zip(header, row, strict=False) if value.strip())
        for row in body
    ]
    joined = normalise("\n".join(line for line in rendered if line))
    if not joined:
        raise NoExtractableText("The CSV file has a header but no rows.")
    return ExtractedText(sections=[Section(text=joined)])


EXTRACTORS = {
    PDF: extract_pdf,
    DOCX: extract_docx,
    HTML: extract_html,
    MARKDOWN: extract_markdown,
    TEXT: extract_text,
    CSV: extract_csv,
}


def extract(data: bytes, mime_type: str) -> ExtractedText:
    extractor = EXTRACTORS.get(mime_type)
    if extractor is None:
        raise UnsupportedContent(f"Content of type {mime_type or 'unknown'} is not supported.")
    return extractor(data)
