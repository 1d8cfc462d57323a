"""The local provider kind: all-MiniLM-L6-v2 on the CPU from the model wheel (the optional extra), no network.

Skipped where the extra is not installed (`make install-local-embedder`; CI installs it)."""

from __future__ import annotations

import math

import pytest
from django.conf import settings

from apps.chatbot_provider import local_model
from apps.chatbot_provider.clients import embed_texts
from apps.chatbot_provider.models import ChatbotProvider

pytestmark = pytest.mark.django_db
needs_model = pytest.mark.skipif(not local_model.available(), reason="the local embedder extra is not installed")
URL = "/api/v1/providers"


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


@needs_model
def test_the_local_model_gives_the_published_similarities_of_all_minilm_l6_v2():
    food, bread, baby, horse = local_model.embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
            "A man is riding a horse.",
        ],
        dimensions=local_model.DIMENSIONS,
    )
    # sentence-transformers' own figures for this model and these sentences: 0.7553, -0.1050, 0.2474.
    assert _cosine(food, bread) == pytest.approx(0.7553, abs=0.002)
    assert _cosine(food, baby) == pytest.approx(-0.1050, abs=0.002)
    assert _cosine(food, horse) == pytest.approx(0.2474, abs=0.002)


@needs_model
def test_vectors_are_unit_length_and_padded_with_zeros_to_the_deployment_size():
    (vector,) = embed_texts(provider=None, texts=["x"], model="", dimensions=8)  # the offline embedder: any size
    assert len(vector) == 8
    provider = ChatbotProvider(kind="local", name="Local")
    (padded,) = embed_texts(provider=provider, texts=["Wing flutter at supersonic speed"], model="", dimensions=768)
    assert len(padded) == 768
    assert padded[local_model.DIMENSIONS :] == [0.0] * (768 - local_model.DIMENSIONS)
    assert math.sqrt(sum(v * v for v in padded)) == pytest.approx(1.0, abs=1e-5)


@needs_model
def test_a_collection_embedded_locally_finds_a_paraphrase_that_shares_no_word_with_the_question(
    admin_client, organization
):
    from apps.documents.models import Collection, Document
    from apps.documents.services import pipeline
    from apps.documents.services.documents import document_create_from_text
    from apps.documents.services.search import search_chunks
    from apps.organizations.actors import Actor

    created = admin_client.post(URL, {"name": "On this server", "kind": "local"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["default_embedding_model"] == local_model.MODEL_NAME
    provider = ChatbotProvider.objects.for_org(organization).get()
    response = admin_client.post(
        "/api/v1/collections", {"name": "Handbook", "embedding_provider_id": str(provider.pk)}, format="json"
    )
    assert response.status_code == 201, response.content
    collection = Collection.objects.for_org(organization).get(pk=response.json()["id"])
    assert collection.embedding_model == local_model.MODEL_NAME
    actor = Actor.system(organization=organization, label="test")
    for title, text in (
        ("Remote work", "Staff members may do their jobs from their houses on Mondays and Fridays."),
        ("Parking", "Cars belong in the marked bays behind the warehouse."),
        ("Expenses", "Receipts for travel costs are reimbursed within a month."),
    ):
        document = document_create_from_text(collection=collection, actor=actor, title=title, text=text).document
        pipeline.document_index(organization_id=str(organization.pk), document_id=str(document.pk))
    assert Document.objects.for_org(organization).filter(status="ready").count() == 3

    hits = search_chunks(organization=organization, query="Can employees telecommute?", mode="vector", top_k=3)
    assert hits[0].document_title == "Remote work"
    assert hits[0].vector_score is not None and hits[0].vector_score > 0.3


@needs_model
def test_testing_a_local_provider_embeds_a_text_on_this_server(admin_client, organization):
    created = admin_client.post(URL, {"name": "On this server", "kind": "local"}, format="json").json()
    response = admin_client.post(f"{URL}/{created['id']}/test")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert local_model.MODEL_NAME in response.json()["message"]


def test_without_the_extra_a_local_provider_is_refused_with_the_install_command(admin_client, monkeypatch):
    monkeypatch.setattr(local_model, "available", lambda: False)
    response = admin_client.post(URL, {"name": "On this server", "kind": "local"}, format="json")
    assert response.status_code == 400
    assert local_model.INSTALL_HINT in response.json()["error"]["details"]["kind"][0]


def test_the_deployment_size_must_hold_the_local_vectors():
    from apps.documents.services.embed import embedding_dimensions_supported

    assert embedding_dimensions_supported(kind="local", model=local_model.MODEL_NAME, dimensions=384) is True
    assert embedding_dimensions_supported(kind="local", model=local_model.MODEL_NAME, dimensions=768) is True
    assert embedding_dimensions_supported(kind="local", model=local_model.MODEL_NAME, dimensions=256) is False
    assert int(settings.EMBEDDING_DIMENSIONS) >= local_model.DIMENSIONS
