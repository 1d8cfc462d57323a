"""Collections of documents, the documents themselves with their indexing state, and their searchable chunks."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from apps.chatbot_provider.models import OFFLINE_EMBEDDING_MODEL
from apps.documents.types import type_name as friendly_type_name
from common.core.models import OrgScopedManager, OrgScopedModel

TEXT_SEARCH_CONFIG = "english"


def default_embedding_dimensions() -> int:
    return int(settings.EMBEDDING_DIMENSIONS)


class Collection(OrgScopedModel):
    """An organization's named set of documents. Its embedding model and dimension are fixed at creation."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    embedding_provider = models.ForeignKey(
        "chatbot_provider.ChatbotProvider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    embedding_model = models.CharField(max_length=120, default=OFFLINE_EMBEDDING_MODEL)
    embedding_dimensions = models.PositiveIntegerField(default=default_embedding_dimensions)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_collection_name_per_org")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DocumentSource(models.TextChoices):
    UPLOAD = "upload", "Upload"
    URL = "url", "URL"
    TEXT = "text", "Pasted text"


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DocumentStage(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    FETCHING = "fetching", "Fetching the URL"
    EXTRACTING = "extracting", "Extracting text"
    CHUNKING = "chunking", "Splitting into chunks"
    EMBEDDING = "embedding", "Computing embeddings"
    WRITING = "writing", "Saving chunks"
    DONE = "done", "Done"


def document_upload_to(instance: Document, filename: str) -> str:
    # Stored names are generated: the user's file name never reaches the file system.
    return f"documents/{instance.organization_id}/{instance.collection_id}/{uuid.uuid4().hex}"


class Document(OrgScopedModel):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    source = models.CharField(max_length=10, choices=DocumentSource.choices)
    source_url = models.URLField(max_length=2000, blank=True, default="")
    original_filename = models.CharField(max_length=255, blank=True, default="")
    title = models.CharField(max_length=300)
    mime_type = models.CharField(max_length=100, blank=True, default="")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    file = models.FileField(upload_to=document_upload_to, max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED)
    stage = models.CharField(max_length=12, choices=DocumentStage.choices, default=DocumentStage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    page_count = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    token_count = models.PositiveIntegerField(default=0)
    diagnostics = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Fair dispatch (ADR 0012): a queued document waits in the database until the dispatcher sends its task;
    # set when the message is sent, cleared when the document goes back to waiting.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Processing lease (ADR 0011): the claim that is processing the document, kept alive by a heartbeat;
    # once expired, the sweep re-queues the document.
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["collection", "sha256"]),
            models.Index(fields=["status", "updated_at"]),
            # The dispatcher's scan: documents waiting for a slot, oldest first within each organization.
            models.Index(
                fields=["organization", "queued_at"],
                name="document_waiting_dispatch",
                condition=models.Q(status="queued", dispatched_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="document_progress_at_most_100"),
            # Uploads and pasted text are de-duplicated by content within a collection. URL imports are
            # identified by their URL (two pages may serve the same bytes) and have no hash until fetched.
            models.UniqueConstraint(
                fields=["collection", "sha256"],
                condition=~models.Q(sha256="") & ~models.Q(source=DocumentSource.URL),
                name="uniq_document_content_per_collection",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def type_name(self) -> str:
        """The type as people say it ('PDF', 'Word document'), not its MIME string."""
        return friendly_type_name(self.mime_type)


class Chunk(OrgScopedModel):
    """A passage of a ready document. Organization and collection are denormalised so search filters in SQL.

    Every index here is paid on each chunk written, so the table keeps only those a query uses (ADR 0113):
    `organization` and `document` are the first columns of `chunk_org_collection` and `uniq_chunk_ordinal`,
    nothing reads chunks by `created_at`, and full-text search reads the postings, never `search_vector`'s GIN.
    """

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks", db_index=False)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+", db_index=False)
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    page_number = models.PositiveIntegerField(null=True, blank=True)
    heading_path = models.JSONField(default=list, blank=True)
    char_start = models.PositiveIntegerField(default=0)
    char_end = models.PositiveIntegerField(default=0)
    token_count = models.PositiveIntegerField(default=0)
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS)
    # Computed by PostgreSQL from the text: no code path can forget or mis-stem it.
    search_vector = models.GeneratedField(
        expression=SearchVector("text", config=TEXT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        ordering = ["document", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="uniq_chunk_ordinal")]
        indexes = [
            models.Index(fields=["organization", "collection"], name="chunk_org_collection"),
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)


class ChunkTerm(models.Model):
    """A posting of the full-text index: one lexeme of one chunk with what BM25 needs (term frequency, the
    chunk's length in lexemes) and `impact`, the term's BM25 weight in the chunk at indexing time, so the
    best chunks for a term are the first entries of the (organization, collection, term, impact) index.

    Written and removed by PostgreSQL triggers on the chunk table (migration 0003), from the chunk's own
    `search_vector`: every path that writes or deletes chunks keeps it in step. Never written from Python."""

    pk = models.CompositePrimaryKey("chunk_id", "term")
    chunk_id = models.UUIDField()
    term = models.TextField()
    organization_id = models.UUIDField()
    collection_id = models.UUIDField()
    tf = models.PositiveIntegerField()
    length = models.PositiveIntegerField()
    impact = models.FloatField()

    class Meta:
        indexes = [
            models.Index(
                fields=["organization_id", "collection_id", "term", "-impact"],
                include=["chunk_id", "tf", "length"],
                name="chunkterm_scope_term_impact",
            )
        ]

    def __str__(self) -> str:
        return f"{self.term} in {self.chunk_id}"


class CollectionTerm(models.Model):
    """Document frequency of a lexeme in a collection (chunks containing it), maintained by the same triggers."""

    pk = models.CompositePrimaryKey("collection_id", "term")
    collection_id = models.UUIDField()
    term = models.TextField()
    organization_id = models.UUIDField()
    df = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.term}: {self.df}"


class CollectionTextStats(models.Model):
    """A collection's chunk count and total length in lexemes (BM25's N and average length), by the triggers."""

    collection_id = models.UUIDField(primary_key=True)
    organization_id = models.UUIDField()
    chunks = models.BigIntegerField()
    length = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.collection_id}: {self.chunks} chunks"
