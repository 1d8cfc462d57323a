"""Keys restricted to some bots or collections are refused the others, through the duck-typed hook."""

import uuid

import pytest

from apps.api_keys.cache import bump_generation, load_principal
from apps.api_keys.models import APIKey
from apps.api_keys.tests.factories import APIKeyFactory
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.actors import Actor, require_access
from apps.users.tests.factories import UserFactory
from common.core.errors import PermissionDeniedError

pytestmark = pytest.mark.django_db


def _actor_for(api_key):
    return Actor.for_api_key(load_principal(api_key.prefix))


def _key_restricted_to_bots(organization, bot_ids, **fields):
    """Bots belong to another app; these tests exercise the restriction mechanics, so the ids are written
    directly (the services check that restricted ids belong to the organization: see test_api)."""
    key = APIKeyFactory(organization=organization, **fields)
    APIKey.objects.unscoped().filter(pk=key.pk).update(bot_ids=bot_ids)
    bump_generation([key.prefix])
    return key


def test_a_key_restricted_to_one_bot_is_refused_another_naming_it(organization):
    allowed, other = uuid.uuid4(), uuid.uuid4()
    request = _actor_for(_key_restricted_to_bots(organization, [allowed]))
    require_access(request, kind="bot", resource_id=allowed)
    with pytest.raises(PermissionDeniedError) as refused:
        require_access(request, kind="bot", resource_id=other)
    assert refused.value.details == {"restricted": "bot", "resource_id": str(other)}
    assert request.restricted_ids("bot") == frozenset({str(allowed)})
    assert request.restricted_ids("collection") is None


def test_a_key_restricted_to_collections_is_refused_other_collections_but_not_bots(organization):
    allowed, other = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    request = _actor_for(APIKeyFactory(organization=organization, collection_ids=[allowed.pk]))
    require_access(request, kind="collection", resource_id=str(allowed.pk))
    require_access(request, kind="bot", resource_id=uuid.uuid4())
    with pytest.raises(PermissionDeniedError):
        require_access(request, kind="collection", resource_id=other.pk)


def test_an_unrestricted_key_and_a_member_reach_everything(organization):
    unrestricted = _actor_for(APIKeyFactory(organization=organization))
    require_access(unrestricted, kind="bot", resource_id=1)
    require_access(unrestricted, kind="collection", resource_id=uuid.uuid4())
    assert unrestricted.restricted_ids("bot") is None
    assert unrestricted.restricted_ids("collection") is None
    member_request = Actor.for_user(UserFactory())
    require_access(member_request, kind="collection", resource_id=uuid.uuid4())
    assert member_request.restricted_ids("bot") is None


def test_changing_a_keys_restrictions_applies_on_the_next_request(organization):
    from apps.api_keys.services import api_key_update

    first, second = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    key = APIKeyFactory(organization=organization, collection_ids=[first.pk])
    assert _actor_for(key).may_access("collection", first.pk)
    api_key_update(
        organization=organization,
        actor=Actor.system(organization=organization),
        api_key_id=key.pk,
        collection_ids=[second.pk],
    )
    assert not _actor_for(key).may_access("collection", first.pk)
    assert _actor_for(key).may_access("collection", second.pk)


@pytest.fixture
def restriction_urls(settings):
    settings.ROOT_URLCONF = "apps.api_keys.tests.restriction_urls"


def test_a_bot_named_in_the_url_is_checked_against_the_keys_restriction(
    organization, make_api_key_client, restriction_urls
):
    allowed, other = uuid.uuid4(), uuid.uuid4()
    client = make_api_key_client(organization, scopes=["chat"])
    APIKey.objects.unscoped().filter(pk=client.api_key.pk).update(bot_ids=[allowed])
    bump_generation([client.api_key.prefix])
    assert client.post(f"/api/v1/test-bots/{allowed}/answer").status_code == 200
    refused = client.post(f"/api/v1/test-bots/{other}/answer")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"restricted": "bot", "resource_id": str(other)}


def test_a_view_can_name_which_url_kwarg_is_a_collection(organization, make_api_key_client, restriction_urls):
    allowed = CollectionFactory(organization=organization).pk
    client = make_api_key_client(organization, scopes=["documents:read"], collection_ids=[allowed])
    assert client.get(f"/api/v1/test-collections/{allowed}").status_code == 200
    assert client.get(f"/api/v1/test-collections/{uuid.uuid4()}").status_code == 403
    unrestricted = make_api_key_client(organization, scopes=["documents:read"])
    assert unrestricted.get(f"/api/v1/test-collections/{uuid.uuid4()}").status_code == 200


def test_members_are_not_subject_to_key_restrictions(admin_client, restriction_urls):
    assert admin_client.post(f"/api/v1/test-bots/{uuid.uuid4()}/answer").status_code == 200
