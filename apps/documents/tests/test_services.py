"""The documents services and selectors that API views and web pages call."""

from __future__ import annotations

import pytest

from apps.chatbot_provider.models import ProviderKind
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.documents import selectors
from apps.documents.services import documents as document_services
from apps.documents.services.embed import embedding_dimensions_supported
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.actors import Actor
from common.core.errors import DomainError, PermissionDeniedError, ValidationFailed

pytestmark = pytest.mark.django_db


# --- search scope --------------------------------------------------------------------------------------


def test_search_scope_is_every_collection_for_an_unrestricted_caller(organization):
    assert selectors.search_collection_ids(organization=organization, requested=None, allowed=None) is None


def test_search_scope_of_a_restricted_caller_is_its_collections(organization):
    mine, _other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    scope = selectors.search_collection_ids(
        organization=organization, requested=None, allowed=frozenset({str(mine.pk)})
    )
    assert scope == [mine.pk]


def test_search_scope_refuses_a_collection_outside_the_restriction(organization):
    mine, other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    with pytest.raises(PermissionDeniedError) as refused:
        selectors.search_collection_ids(
            organization=organization, requested=[other.pk], allowed=frozenset({str(mine.pk)})
        )
    assert refused.value.details == {"restricted": "collection", "resource_id": str(other.pk)}


def test_search_scope_refuses_a_restriction_whose_collections_are_gone(organization):
    with pytest.raises(PermissionDeniedError):
        selectors.search_collection_ids(
            organization=organization, requested=None, allowed=frozenset({"00000000-0000-0000-0000-000000000000"})
        )


def test_search_scope_refuses_unknown_and_foreign_collections(organization, other_organization):
    mine, foreign = CollectionFactory(organization=organization), CollectionFactory(organization=other_organization)
    with pytest.raises(ValidationFailed) as refused:
        selectors.search_collection_ids(organization=organization, requested=[mine.pk, foreign.pk], allowed=None)
    assert str(foreign.pk) in refused.value.details["collection_ids"][0]


# --- collection creation ---------------------------------------------------------------------------------


def test_a_collection_is_created_from_a_provider_id(organization, user):
    provider = ChatbotProviderFactory(organization=organization)
    collection = document_services.collection_create(
        organization=organization,
        actor=Actor.for_user(user).in_organization(organization),
        name="Manuals",
        embedding_provider_id=provider.pk,
    )
    assert collection.embedding_provider == provider


def test_another_organizations_provider_id_is_unknown(organization, other_organization, user):
    foreign = ChatbotProviderFactory(organization=other_organization)
    with pytest.raises(ValidationFailed) as refused:
        document_services.collection_create(
            organization=organization,
            actor=Actor.for_user(user).in_organization(organization),
            name="Manuals",
            embedding_provider_id=foreign.pk,
        )
    assert refused.value.details == {"embedding_provider_id": ["Unknown provider."]}


@pytest.mark.parametrize(
    ("kind", "model", "dimensions", "supported"),
    [
        (ProviderKind.OFFLINE, "offline-hash-v1", 768, True),
        (ProviderKind.OFFLINE, "offline-hash-v1", 4096, True),
        (ProviderKind.OPENAI, "text-embedding-3-small", 768, True),
        (ProviderKind.OPENAI, "text-embedding-3-small", 3072, False),
        (ProviderKind.OPENAI, "text-embedding-3-large", 3072, True),
        (ProviderKind.OPENAI, "text-embedding-ada-002", 768, False),
        (ProviderKind.OPENAI, "text-embedding-ada-002", 1536, True),
        (ProviderKind.GEMINI, "text-embedding-004", 768, True),
        (ProviderKind.GEMINI, "models/text-embedding-004", 1024, False),
        (ProviderKind.GEMINI, "gemini-embedding-001", 1536, True),
        (ProviderKind.OPENAI_COMPATIBLE, "some-local-model", 768, None),  # unknown: checked at indexing
    ],
)
def test_known_embedding_models_and_the_dimensions_they_can_produce(kind, model, dimensions, supported):
    assert embedding_dimensions_supported(kind=kind, model=model, dimensions=dimensions) is supported


def test_a_provider_model_that_cannot_produce_the_deployment_dimension_is_refused(organization, user, settings):
    settings.EMBEDDING_DIMENSIONS = 768
    provider = ChatbotProviderFactory(
        organization=organization, kind=ProviderKind.OPENAI, default_embedding_model="text-embedding-ada-002"
    )
    with pytest.raises(DomainError) as refused:
        document_services.collection_create(
            organization=organization,
            actor=Actor.for_user(user).in_organization(organization),
            name="M",
            embedding_provider=provider,
        )
    assert refused.value.status_code == 400
    assert refused.value.code == "embedding_model_unsupported"
    assert "768" in refused.value.message and "text-embedding-ada-002" in refused.value.message


def test_collection_list_of_a_restricted_caller_holds_only_its_collections(organization, other_organization):
    mine, _other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    CollectionFactory(organization=other_organization)
    assert list(selectors.collection_list(organization=organization, collection_ids=frozenset({str(mine.pk)}))) == [
        mine
    ]
    assert selectors.collection_list(organization=organization, collection_ids=None).count() == 2
