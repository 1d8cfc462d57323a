"""Admin for collections, documents (indexing record read-only, filter by status) and chunks (read-only)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.documents.models import Chunk, Collection, Document
from common.core.admin import CrossOrganizationAdmin


@admin.register(Collection)
class CollectionAdmin(CrossOrganizationAdmin):
    list_display = ("name", "organization", "embedding_model", "embedding_dimensions", "created_at")
    search_fields = ("name",)
    readonly_fields = ("embedding_provider", "embedding_model", "embedding_dimensions", "created_by")


@admin.register(Document)
class DocumentAdmin(CrossOrganizationAdmin):
    list_display = ("title", "collection", "organization", "status", "stage", "progress", "error_code", "created_at")
    list_filter = ("status", "stage", "source", "mime_type")
    search_fields = ("title", "original_filename", "source_url", "sha256")
    # What happened during indexing is a record, not something to edit: reindex through the API or web page.
    readonly_fields = (
        "organization",
        "collection",
        "source",
        "source_url",
        "original_filename",
        "mime_type",
        "size_bytes",
        "sha256",
        "file",
        "status",
        "stage",
        "progress",
        "error_code",
        "error_message",
        "page_count",
        "chunk_count",
        "token_count",
        "diagnostics",
        "attempts",
        "queued_at",
        "started_at",
        "finished_at",
        "created_by",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # documents are created through uploads, URL imports or pasted text


@admin.register(Chunk)
class ChunkAdmin(CrossOrganizationAdmin):
    list_display = ("document", "ordinal", "page_number", "token_count", "organization")
    search_fields = ("text",)
    exclude = ("embedding",)
    readonly_fields = (
        "organization",
        "collection",
        "document",
        "ordinal",
        "text",
        "page_number",
        "heading_path",
        "char_start",
        "char_end",
        "token_count",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # view only: chunks are written by the pipeline
