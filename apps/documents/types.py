"""The document types Docent reads: their MIME types and the names people know them by."""

from __future__ import annotations

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CSV = "text/csv"
SUPPORTED = (PDF, DOCX, HTML, MARKDOWN, TEXT, CSV)

# key (the filter's value) → (friendly name, MIME type)
KINDS: dict[str, tuple[str, str]] = {
    "pdf": ("PDF", PDF),
    "docx": ("Word document", DOCX),
    "html": ("Web page", HTML),
    "markdown": ("Markdown", MARKDOWN),
    "text": ("Plain text", TEXT),
    "csv": ("CSV table", CSV),
}
_NAMES = {mime: name for name, mime in KINDS.values()}


def type_name(mime_type: str) -> str:
    """'Word document' for a DOCX MIME type; an unknown type is shown as it is, none as '—'."""
    return _NAMES.get(mime_type, mime_type or "—")


def mime_of_kind(kind: str) -> str | None:
    entry = KINDS.get(kind)
    return entry[1] if entry else None
