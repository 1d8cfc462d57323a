"""The upload's and the dispatcher's reads compiled once per process (common.core.statements, ADR 0134): they answer
what the ORM's querysets answer, and refuse a query whose SQL would depend on the values."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.documents.models import Document, DocumentStatus
from apps.documents.services import documents as services
from apps.documents.services import queue
from apps.documents.tests.factories import CollectionFactory, DocumentFactory
from apps.organizations.models import Organization
from common.core.statements import Statement

pytestmark = pytest.mark.django_db


def _by_title(organization_id: uuid.UUID, title: str) -> Statement:
    return Statement(
        lambda organization_id, title: (
            Document.objects.for_org(organization_id)
            .filter(title=title)
            .order_by("created_at")
            .values_list("pk", "title")
        ),
        organization_id=organization_id,
        title=title,
    )


def test_a_statement_gives_the_rows_its_queryset_gives_for_other_values_and_compiles_once():
    handbook = DocumentFactory(title="Handbook")
    DocumentFactory(title="Handbook")  # another organization's: not among the rows
    DocumentFactory(collection=handbook.collection, title="Prices")
    calls = []

    def build(organization_id, title):
        calls.append(title)
        return Document.objects.for_org(organization_id).filter(title=title).order_by("created_at").values_list("pk")

    statement = Statement(build, organization_id=uuid.uuid4(), title="sample title")
    for title in ("Handbook", "Prices", "Nothing"):
        expected = list(
            Document.objects.for_org(handbook.organization_id)
            .filter(title=title)
            .values_list("pk")
            .order_by("created_at")
        )
        assert statement.rows(organization_id=handbook.organization_id, title=title) == expected
    assert statement.rows(organization_id=handbook.organization_id, title="Handbook") == [(handbook.pk,)]
    assert calls == ["sample title"]


def test_a_sample_that_is_not_one_parameter_of_its_own_is_refused():
    same = uuid.uuid4()
    twice = Statement(
        lambda a, b: Document.objects.unscoped().filter(organization_id=a, collection_id=b).values_list("pk"),
        a=same,
        b=same,
    )
    with pytest.raises(ImproperlyConfigured, match="appears 2 times"):
        twice.rows(a=uuid.uuid4(), b=uuid.uuid4())
    listed = Statement(lambda ids: Document.objects.unscoped().filter(pk__in=ids).values_list("pk"), ids=[uuid.uuid4()])
    with pytest.raises(ImproperlyConfigured, match="appears 0 times"):
        listed.rows(ids=[uuid.uuid4()])


def test_none_is_refused_where_the_statement_compares_with_equals():
    statement = _by_title(uuid.uuid4(), "sample")
    with pytest.raises(ValueError, match="IS NULL"):
        statement.rows(organization_id=uuid.uuid4(), title=None)
    with pytest.raises(TypeError):
        statement.rows(organization_id=uuid.uuid4())


def test_usage_counts_the_organizations_documents_and_bytes_only():
    collection = CollectionFactory()
    DocumentFactory(collection=collection, size_bytes=100)
    DocumentFactory(collection=collection, size_bytes=250)
    DocumentFactory(size_bytes=999)  # another organization's
    assert services.organization_usage(organization=collection.organization) == {"documents": 2, "bytes": 350}
    assert services.organization_usage(organization=CollectionFactory().organization) == {"documents": 0, "bytes": 0}


def test_the_same_content_is_found_in_its_collection_only():
    collection = CollectionFactory()
    first = DocumentFactory(collection=collection, sha256="a" * 64)
    DocumentFactory(collection=CollectionFactory(organization=collection.organization), sha256="b" * 64)
    found = services._existing(collection, "a" * 64)
    assert found is not None and found.pk == first.pk and found.title == first.title
    assert services._existing(collection, "b" * 64) is None  # the same organization's other collection


def test_the_organization_is_read_whole_and_locked_for_the_transaction():
    organization = Organization.objects.create(name="Acme", slug="acme-lock", max_documents=7)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = services._lock_organization(organization.pk)
    assert (locked.pk, locked.name, locked.slug, locked.max_documents) == (organization.pk, "Acme", "acme-lock", 7)
    assert "FOR NO KEY UPDATE" in queries.captured_queries[-1]["sql"]
    with pytest.raises(Organization.DoesNotExist):
        services._lock_organization(uuid.uuid4())


def test_the_dispatchers_reads_see_waiting_and_in_flight_documents():
    collection = CollectionFactory()
    assert not queue._WAITING_ANY.rows()
    waiting = DocumentFactory(collection=collection, status=DocumentStatus.QUEUED)
    DocumentFactory(collection=collection, status=DocumentStatus.QUEUED)
    DocumentFactory(collection=collection, status=DocumentStatus.PROCESSING)
    assert queue._WAITING_ANY.rows()
    assert dict(queue._IN_FLIGHT_BY_ORGANIZATION.rows()) == {collection.organization_id: 1}
    lines = queue._WAITING_IN_LINE.rows()
    assert len(lines) == 2 and sorted(row[3] for row in lines) == [1, 2]
    first = queue._WAITING_IN_LINE_TO_DEPTH.rows(depth=1)
    assert [(row[0], row[1], row[3]) for row in first] == [(waiting.pk, collection.organization_id, 1)]
