"""Fixture files generated in tests (never committed): PDFs, DOCX, zip bombs, HTML pages."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import docx
from fpdf import FPDF

# A fixed creation date: the same pages give the same bytes (and the same hash), whenever they are made.
CREATED = datetime(2024, 1, 1, tzinfo=UTC)

PAGE_TEXTS = [
    "Turbine blades are cooled by air bled from the compressor. The cooling film protects the metal.",
    "Page two has no special words.",
    "Laminar flow over the wing delays the transition to turbulence. Drag falls as a result.",
]


def make_pdf(pages: list[str] | None = None, *, password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(CREATED)
    pdf.set_font("helvetica", size=12)
    for text in pages if pages is not None else PAGE_TEXTS:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    return bytes(pdf.output())


def make_scanned_pdf(pages: int = 2) -> bytes:
    """Pages with only drawings: what a scan without OCR looks like to a text extractor."""
    pdf = FPDF()
    pdf.set_creation_date(CREATED)
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(120, 120, 120)
        pdf.rect(20, 20, 150, 200, style="F")
    return bytes(pdf.output())


def make_docx(sections: list[tuple[str, int, list[str]]] | None = None) -> bytes:
    document = docx.Document()
    for heading, level, paragraphs in sections or [
        ("Installation", 1, ["Run the installer and accept the licence."]),
        ("Requirements", 2, ["A supported operating system with four gigabytes of memory."]),
        ("Usage", 1, ["Open the application and choose a project to start."]),
    ]:
        document.add_heading(heading, level=level)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip_bomb(decompressed_bytes: int = 300 * 1024 * 1024) -> bytes:
    """A valid-looking DOCX whose one member expands to decompressed_bytes of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(decompressed_bytes // len(block)):
                member.write(block)
    return buffer.getvalue()


BOILERPLATE_HTML = """<!DOCTYPE html>
<html><head><title>Pump maintenance guide</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/shop">Shop</a></li><li>NAVIGATIONMENU</li></ul></nav>
<header><p>Acme Corp header banner SITEHEADER</p></header>
<main><article>
<h1>Pump maintenance</h1>
<p>Check the impeller every six months for wear and remove any debris from the intake screen.</p>
<h2>Seals</h2>
<p>Replace the mechanical seal when you see leaks around the shaft; a worn seal wastes energy.</p>
</article></main>
<footer><p>Copyright Acme FOOTERLINKS privacy terms</p></footer>
</body></html>
"""
