"""The migration adding one-document-per-content removes copies a past upload race left behind."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("documents", "0001_initial")]
AFTER = [("documents", "0002_document_content_unique_per_collection")]


def test_copies_of_the_same_content_in_a_collection_are_reduced_to_the_oldest():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Collection, Document = apps.get_model("documents", "Collection"), apps.get_model("documents", "Document")
    organization = OrganizationFactory()
    collection = Collection.objects.create(organization_id=organization.pk, name="C")

    def document(title: str, sha256: str, source: str = "upload") -> object:
        return Document.objects.create(
            organization_id=organization.pk, collection=collection, title=title, sha256=sha256, source=source
        )

    oldest, _copy = document("first", "a" * 64), document("second", "a" * 64)
    other = document("other", "b" * 64)
    urls = [document("page", "c" * 64, source="url"), document("mirror", "c" * 64, source="url")]
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        kept = set(Document.objects.values_list("pk", flat=True))
        assert kept == {oldest.pk, other.pk, *(u.pk for u in urls)}
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_documents_in_flight_when_the_dispatcher_arrives_are_not_sent_again():
    before = [("documents", "0002_document_content_unique_per_collection")]
    after = [("documents", "0003_document_lease_and_dispatch")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Collection, Document = apps.get_model("documents", "Collection"), apps.get_model("documents", "Document")
    organization = OrganizationFactory()
    collection = Collection.objects.create(organization_id=organization.pk, name="C")
    states = ["queued", "processing", "ready", "failed"]
    ids = {
        status: Document.objects.create(
            organization_id=organization.pk, collection=collection, title=status, status=status, sha256=status * 3
        ).pk
        for status in states
    }
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        Document = executor.loader.project_state(after).apps.get_model("documents", "Document")
        dispatched = {status: Document.objects.get(pk=ids[status]).dispatched_at is not None for status in states}
        assert dispatched == {"queued": True, "processing": True, "ready": False, "failed": False}
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_the_chunk_table_carries_only_the_indexes_a_search_or_a_delete_uses():
    """Each index costs every chunk written (docs/adr/0113); a new one should be a decision, not a default."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "documents_chunk")
    indexed = sorted(tuple(spec["columns"]) for spec in constraints.values() if spec["index"] or spec["unique"])
    assert indexed == [
        ("document_id", "ordinal"),
        ("embedding",),
        ("id",),
        ("organization_id", "collection_id"),
    ]
