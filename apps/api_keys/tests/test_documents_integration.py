"""API keys against the documents endpoints: the actor is no user, and collection restrictions hold."""

import pytest

from apps.documents.models import Collection
from apps.documents.tests.factories import CollectionFactory, DocumentFactory

pytestmark = pytest.mark.django_db


def test_a_key_creates_a_collection_recorded_without_a_user(organization, make_api_key_client):
    client = make_api_key_client(organization, scopes=["documents:write"])
    response = client.post("/api/v1/collections", {"name": "From CI"}, format="json")
    assert response.status_code == 201, response.content
    assert Collection.objects.for_org(organization).get(name="From CI").created_by is None


def test_a_key_restricted_to_one_collection_sees_and_reaches_only_that_one(organization, make_api_key_client):
    mine, other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    hidden = DocumentFactory(collection=other)
    visible = DocumentFactory(collection=mine)
    client = make_api_key_client(organization, scopes=["documents:read", "search"], collection_ids=[mine.pk])
    listed = client.get("/api/v1/collections").json()["results"]
    assert [c["id"] for c in listed] == [str(mine.pk)]
    assert client.get(f"/api/v1/collections/{mine.pk}").status_code == 200
    assert client.get(f"/api/v1/collections/{other.pk}").status_code == 403
    assert client.get(f"/api/v1/documents/{visible.pk}").status_code == 200
    refused = client.get(f"/api/v1/documents/{hidden.pk}")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"restricted": "collection", "resource_id": str(other.pk)}
    search = client.post("/api/v1/search", {"query": "x", "collection_ids": [str(other.pk)]}, format="json")
    assert search.status_code == 403


def test_a_restricted_key_searching_everything_searches_only_its_collections(organization, make_api_key_client):
    from apps.documents.tests.factories import ChunkFactory

    mine, other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    text = "Check the pump impeller every six months and clean the intake screen."
    for collection in (mine, other):
        ChunkFactory(document=DocumentFactory(collection=collection, chunk_count=1), ordinal=0, text=text)
    client = make_api_key_client(organization, scopes=["search"], collection_ids=[mine.pk])
    response = client.post("/api/v1/search", {"query": "how often should the impeller be checked"}, format="json")
    assert response.status_code == 200, response.content
    hits = response.json()["results"]
    assert hits and {hit["collection_id"] for hit in hits} == {str(mine.pk)}


def test_a_key_never_reaches_another_organizations_documents(organization, other_organization, make_api_key_client):
    theirs = CollectionFactory(organization=other_organization)
    their_document = DocumentFactory(collection=theirs)
    client = make_api_key_client(organization)
    assert client.get("/api/v1/collections").json()["results"] == []
    assert client.get(f"/api/v1/collections/{theirs.pk}").status_code == 404
    assert client.get(f"/api/v1/documents/{their_document.pk}").status_code == 404
    assert client.delete(f"/api/v1/documents/{their_document.pk}").status_code == 404
    named = client.get("/api/v1/collections", HTTP_X_ORGANIZATION=str(other_organization.pk))
    assert named.status_code == 401
    assert their_document.__class__.objects.for_org(other_organization).filter(pk=their_document.pk).exists()


def test_a_restricted_key_lists_only_its_collections_documents(organization, make_api_key_client):
    mine, other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    visible = DocumentFactory(collection=mine)
    DocumentFactory(collection=other)
    client = make_api_key_client(organization, scopes=["documents:read"], collection_ids=[mine.pk])
    listed = client.get("/api/v1/documents")
    assert listed.status_code == 200, listed.content
    assert [d["id"] for d in listed.json()["results"]] == [str(visible.pk)]
    refused = client.get(f"/api/v1/documents?collection={other.pk}")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"restricted": "collection", "resource_id": str(other.pk)}
