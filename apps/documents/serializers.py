"""Input and output shapes of the documents API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.documents.models import Chunk, Collection, Document, DocumentStatus
from common.core.fields import OptionalURLField
from common.core.names import validate_no_control_characters


class CollectionOutputSerializer(serializers.ModelSerializer[Collection]):
    embedding_provider_id = serializers.UUIDField(allow_null=True, read_only=True)

    class Meta:
        model = Collection
        fields = [
            "id",
            "name",
            "description",
            "embedding_provider_id",
            "embedding_model",
            "embedding_dimensions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CollectionCreateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120, validators=[validate_no_control_characters])
    description = serializers.CharField(required=False, allow_blank=True, default="")
    embedding_provider_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    embedding_model = serializers.CharField(required=False, max_length=120, allow_blank=True, default="")
    embedding_dimensions = serializers.IntegerField(required=False, min_value=1, max_value=16000, allow_null=True)


class CollectionUpdateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120, required=False, validators=[validate_no_control_characters])
    description = serializers.CharField(required=False, allow_blank=True)


class DocumentOutputSerializer(serializers.ModelSerializer[Document]):
    collection_id = serializers.UUIDField(read_only=True)
    source_url = OptionalURLField(read_only=True, help_text="The imported URL; null for uploads and pasted text.")

    class Meta:
        model = Document
        fields = [
            "id",
            "collection_id",
            "source",
            "source_url",
            "original_filename",
            "title",
            "mime_type",
            "size_bytes",
            "sha256",
            "status",
            "stage",
            "progress",
            "error_code",
            "error_message",
            "page_count",
            "chunk_count",
            "token_count",
            "attempts",
            "queued_at",
            "started_at",
            "finished_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DocumentAcceptedSerializer(DocumentOutputSerializer):
    duplicate = serializers.SerializerMethodField()

    class Meta(DocumentOutputSerializer.Meta):
        fields = [*DocumentOutputSerializer.Meta.fields, "duplicate"]
        read_only_fields = fields

    def get_duplicate(self, obj: Document) -> bool:
        return bool(self.context.get("duplicates", set()) and obj.pk in self.context["duplicates"])


class SampleChunkSerializer(serializers.Serializer[Any]):
    ordinal = serializers.IntegerField()
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField()
    token_count = serializers.IntegerField()
    text = serializers.CharField()


class FailureSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    stage = serializers.CharField()
    details = serializers.DictField()


class DiagnosticsSerializer(serializers.Serializer[Any]):
    pages_parsed = serializers.IntegerField(allow_null=True)
    page_count = serializers.IntegerField()
    empty_pages = serializers.ListField(child=serializers.IntegerField())
    characters_extracted = serializers.IntegerField(allow_null=True)
    chunk_count = serializers.IntegerField()
    token_count = serializers.IntegerField()
    attempts = serializers.IntegerField()
    sample_chunks = SampleChunkSerializer(many=True)
    failure = FailureSerializer(allow_null=True)


class DocumentDetailSerializer(DocumentOutputSerializer):
    diagnostics = serializers.SerializerMethodField()

    class Meta(DocumentOutputSerializer.Meta):
        fields = [*DocumentOutputSerializer.Meta.fields, "diagnostics"]
        read_only_fields = fields

    @extend_schema_field(DiagnosticsSerializer)
    def get_diagnostics(self, obj: Document) -> dict[str, Any]:
        return dict(self.context["diagnostics"])


class DocumentListQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=DocumentStatus.choices, required=False)
    collection = serializers.UUIDField(required=False, help_text="Only this collection's documents.")


class UploadInputSerializer(serializers.Serializer[Any]):
    files = serializers.ListField(child=serializers.FileField(), required=False, help_text="One or more files.")
    file = serializers.FileField(required=False, help_text="A single file (alternative to `files`).")


class UploadOutputSerializer(serializers.Serializer[Any]):
    documents = DocumentAcceptedSerializer(many=True)


class UrlInputSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=2000)


class TextInputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=300, validators=[validate_no_control_characters])
    text = serializers.CharField(trim_whitespace=False)


class ChunkOutputSerializer(serializers.ModelSerializer[Chunk]):
    document_id = serializers.UUIDField(read_only=True)
    heading = serializers.CharField(read_only=True)
    page = serializers.IntegerField(source="page_number", read_only=True, allow_null=True)  # `page` everywhere

    class Meta:
        model = Chunk
        fields = [
            "id",
            "document_id",
            "ordinal",
            "page",
            "heading_path",
            "heading",
            "char_start",
            "char_end",
            "token_count",
            "text",
        ]
        read_only_fields = fields


class SearchInputSerializer(serializers.Serializer[Any]):
    query = serializers.CharField(max_length=2000)
    collection_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, allow_null=True, default=None, max_length=100
    )
    top_k = serializers.IntegerField(min_value=1, max_value=50, default=8)
    mode = serializers.ChoiceField(choices=["hybrid", "vector", "fulltext"], default="hybrid")


class SearchHitSerializer(serializers.Serializer[Any]):
    chunk_id = serializers.UUIDField()
    document_id = serializers.UUIDField()
    collection_id = serializers.UUIDField()
    document_title = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField(help_text="Relevance in [0, 1]; see the search guide for its meaning.")
    vector_score = serializers.FloatField(allow_null=True, help_text="Cosine similarity clamped to [0, 1].")
    text_score = serializers.FloatField(allow_null=True, help_text="Full-text score relative to the best match.")


class SearchOutputSerializer(serializers.Serializer[Any]):
    results = SearchHitSerializer(many=True)
    plan = serializers.CharField(help_text="exact, hnsw, none (full-text only) or empty.")
    scope_chunks = serializers.IntegerField(help_text="Chunks the organization/collection filter keeps.")
    fusion = serializers.CharField()
    timings_ms = serializers.DictField(child=serializers.FloatField())
