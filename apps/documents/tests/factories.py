"""Factories of the documents app (discovered by the tenant-isolation suite)."""

from __future__ import annotations

import hashlib

import factory
from django.conf import settings
from django.db.models import F

from apps.chatbot_provider.offline import hashing_embed
from apps.documents.models import Chunk, Collection, Document, DocumentSource, DocumentStage, DocumentStatus
from apps.organizations.tests.factories import OrganizationFactory
from common.core.tests.factories import ModelFactory


class CollectionFactory(ModelFactory):
    class Meta:
        model = Collection

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Collection {n}")


class DocumentFactory(ModelFactory):
    """A ready document (pasted text) without a stored file; add chunks with ChunkFactory."""

    class Meta:
        model = Document

    collection = factory.SubFactory(CollectionFactory)
    organization = factory.SelfAttribute("collection.organization")
    source = DocumentSource.TEXT
    title = factory.Sequence(lambda n: f"Document {n}")
    mime_type = "text/plain"
    sha256 = factory.Sequence(lambda n: hashlib.sha256(f"doc-{n}".encode()).hexdigest())
    status = DocumentStatus.READY
    stage = DocumentStage.DONE
    progress = 100


class ChunkFactory(ModelFactory):
    class Meta:
        model = Chunk

    document = factory.SubFactory(DocumentFactory)
    organization = factory.SelfAttribute("document.organization")
    collection = factory.SelfAttribute("document.collection")
    ordinal = factory.Sequence(lambda n: n)
    text = factory.Faker("paragraph")
    token_count = 20
    embedding = factory.LazyAttribute(lambda o: hashing_embed([o.text], dimensions=settings.EMBEDDING_DIMENSIONS)[0])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        chunk = super()._create(model_class, *args, **kwargs)
        # Keep the document's chunk count true: search sizes its plan from it, as the pipeline writes it.
        Document.objects.unscoped().filter(pk=chunk.document_id).update(chunk_count=F("chunk_count") + 1)
        return chunk
