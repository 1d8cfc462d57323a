"""Managing API keys over the API: owners and admins, signed in; never members, never API keys."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.api_keys.models import APIKey
from apps.api_keys.tests.factories import APIKeyFactory, APIKeyUsageDailyFactory
from apps.organizations.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


def _key_client(plaintext):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def _create(client, **body):
    payload = {"name": "CI", "scopes": ["analytics:read"], **body}
    return client.post("/api/v1/api-keys", payload, format="json")


def test_an_admin_creates_a_key_and_sees_the_secret_once(admin_client, organization):
    response = _create(admin_client, rate_limit_per_minute=30)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"].startswith(f"dk_{body['prefix']}_")
    assert body["scopes"] == ["analytics:read"] and body["status"] == "active"
    assert body["rate_limit_per_minute"] == 30
    assert body["display"] == f"dk_{body['prefix']}_…{body['key'][-4:]}"
    assert _key_client(body["key"]).get("/api/v1/usage").status_code == 200
    listed = admin_client.get("/api/v1/api-keys").json()
    assert [k["id"] for k in listed["results"]] == [body["id"]]
    assert "key" not in listed["results"][0] and "secret_hash" not in listed["results"][0]
    assert "key" not in admin_client.get(f"/api/v1/api-keys/{body['id']}").json()
    assert AuditEvent.objects.unscoped().filter(organization=organization, action="api_key.created").count() == 1


def test_an_owner_may_manage_keys_but_a_member_may_not(organization, make_member_client):
    owner, member = make_member_client(organization, Role.OWNER), make_member_client(organization, Role.MEMBER)
    assert _create(owner).status_code == 201
    refused = member.get("/api/v1/api-keys")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_role"] == "admin"
    assert _create(member).status_code == 403


def test_an_api_key_can_never_create_list_or_revoke_keys(organization, make_api_key_client):
    client = make_api_key_client(organization)
    victim = APIKeyFactory(organization=organization)
    for response in (
        client.get("/api/v1/api-keys"),
        _create(client),
        client.post(f"/api/v1/api-keys/{victim.pk}/revoke"),
        client.post(f"/api/v1/api-keys/{victim.pk}/rotate"),
        client.patch("/api/v1/api-keys/limits", {"daily_request_quota": 1}, format="json"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["details"] == {"reason": "api_key_not_allowed"}
    victim.refresh_from_db()
    assert victim.revoked_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["bots:read", "root"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"name": ""}, "name"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"bot_ids": ["not-a-uuid"]}, "bot_ids"),
    ],
)
def test_bad_input_is_refused_with_field_errors(admin_client, body, field):
    response = _create(admin_client, **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["details"]


def test_restrictions_must_name_the_organizations_own_collections(admin_client, organization, other_organization):
    from apps.documents.tests.factories import CollectionFactory

    mine, theirs = CollectionFactory(organization=organization), CollectionFactory(organization=other_organization)
    refused = _create(admin_client, collection_ids=[str(mine.pk), str(theirs.pk)])
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"collection_ids": [f"Unknown collection: {theirs.pk}"]}
    created = _create(admin_client, collection_ids=[str(mine.pk), str(mine.pk)])
    assert created.status_code == 201 and created.json()["collection_ids"] == [str(mine.pk)]
    changed = admin_client.patch(
        f"/api/v1/api-keys/{created.json()['id']}", {"collection_ids": [str(theirs.pk)]}, format="json"
    )
    assert changed.status_code == 400
    assert admin_client.get(f"/api/v1/api-keys/{created.json()['id']}").json()["collection_ids"] == [str(mine.pk)]


def test_an_expiry_in_the_past_is_refused(admin_client):
    response = _create(admin_client, expires_at=(timezone.now() - timedelta(hours=1)).isoformat())
    assert response.status_code == 400
    assert "expires_at" in response.json()["error"]["details"]


def test_changing_scopes_applies_to_the_next_request(admin_client, organization):
    created = _create(admin_client).json()
    key_client = _key_client(created["key"])
    assert key_client.get("/api/v1/usage").status_code == 200
    changed = admin_client.patch(
        f"/api/v1/api-keys/{created['id']}", {"scopes": ["search"], "name": "Search only"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["scopes"] == ["search"] and changed.json()["name"] == "Search only"
    refused = key_client.get("/api/v1/usage")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"missing_scope": "analytics:read"}


def test_revoking_stops_the_key_at_once(admin_client, organization):
    created = _create(admin_client).json()
    key_client = _key_client(created["key"])
    assert key_client.get("/api/v1/usage").status_code == 200
    revoked = admin_client.post(f"/api/v1/api-keys/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert key_client.get("/api/v1/usage").status_code == 401
    assert admin_client.post(f"/api/v1/api-keys/{created['id']}/rotate").status_code == 409
    assert admin_client.patch(f"/api/v1/api-keys/{created['id']}", {"name": "x"}, format="json").status_code == 409
    assert AuditEvent.objects.unscoped().filter(organization=organization, action="api_key.revoked").count() == 1


def test_rotating_gives_a_new_secret_and_retires_the_old(admin_client):
    created = _create(admin_client).json()
    rotated = admin_client.post(f"/api/v1/api-keys/{created['id']}/rotate")
    assert rotated.status_code == 200
    new = rotated.json()["key"]
    assert new != created["key"] and rotated.json()["prefix"] == created["prefix"]
    assert _key_client(created["key"]).get("/api/v1/usage").status_code == 401
    assert _key_client(new).get("/api/v1/usage").status_code == 200


def test_another_organizations_keys_are_not_found(admin_client, other_organization):
    foreign = APIKeyFactory(organization=other_organization)
    for response in (
        admin_client.get(f"/api/v1/api-keys/{foreign.pk}"),
        admin_client.patch(f"/api/v1/api-keys/{foreign.pk}", {"name": "mine"}, format="json"),
        admin_client.post(f"/api/v1/api-keys/{foreign.pk}/revoke"),
        admin_client.post(f"/api/v1/api-keys/{foreign.pk}/rotate"),
        admin_client.get(f"/api/v1/api-keys/{foreign.pk}/usage"),
    ):
        assert response.status_code == 404
    assert admin_client.get("/api/v1/api-keys").json()["results"] == []
    foreign.refresh_from_db()
    assert foreign.revoked_at is None and foreign.name != "mine"


def test_usage_per_key_per_day(admin_client, organization):
    key = APIKeyFactory(organization=organization)
    other = APIKeyFactory(organization=organization)
    day = timezone.now().date() - timedelta(days=3)
    APIKeyUsageDailyFactory(api_key=key, date=day, requests=7, tokens=70, errors=1)
    APIKeyUsageDailyFactory(api_key=other, date=day, requests=2, tokens=0, errors=0)
    _key_client(key.plaintext).get("/api/v1/usage")
    one = admin_client.get(f"/api/v1/api-keys/{key.pk}/usage").json()
    today = str(timezone.now().date())
    assert one == [
        {"date": str(day), "api_key_id": str(key.pk), "requests": 7, "tokens": 70, "errors": 1},
        {"date": today, "api_key_id": str(key.pk), "requests": 1, "tokens": 0, "errors": 0},
    ]
    everything = admin_client.get("/api/v1/api-keys/usage", {"start": str(day), "end": str(day)}).json()
    assert sorted((u["api_key_id"], u["requests"]) for u in everything) == sorted(
        [(str(key.pk), 7), (str(other.pk), 2)]
    )


def test_a_usage_window_that_is_backwards_is_refused(admin_client):
    response = admin_client.get("/api/v1/api-keys/usage", {"start": "2026-02-02", "end": "2026-01-01"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_organization_quotas_can_be_read_and_set(admin_client, organization):
    assert admin_client.get("/api/v1/api-keys/limits").json()["daily_request_quota"] is None
    changed = admin_client.patch("/api/v1/api-keys/limits", {"daily_request_quota": 1000}, format="json")
    assert changed.status_code == 200 and changed.json()["daily_request_quota"] == 1000
    assert admin_client.get("/api/v1/api-keys/limits").json()["daily_request_quota"] == 1000


def test_the_number_of_active_keys_is_bounded(admin_client, organization, settings):
    settings.API_KEY_MAX_PER_ORGANIZATION = 2
    assert [_create(admin_client).status_code for _ in range(3)] == [201, 201, 409]
    assert APIKey.objects.for_org(organization).count() == 2


def test_a_signed_in_admin_manages_keys_over_the_session_with_csrf(organization):
    from django.test import Client

    from apps.organizations.tests.factories import MembershipFactory

    client = Client(enforce_csrf_checks=True)
    client.force_login(MembershipFactory(organization=organization, role=Role.ADMIN).user)
    assert client.get("/api/v1/api-keys").status_code == 200
    body = {"name": "CI", "scopes": ["search"]}
    assert client.post("/api/v1/api-keys", body, content_type="application/json").status_code == 403
    client.get("/api-keys/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    created = client.post("/api/v1/api-keys", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate_limit_per_minute", 3_000_000_000),
        ("daily_request_quota", 10**19),
        ("monthly_request_quota", 10**19),
        ("daily_token_quota", 10**19),
        ("monthly_token_quota", 10**19),
    ],
)
def test_a_limit_too_large_to_store_is_a_field_error_not_a_server_error(admin_client, organization, field, value):
    created = _create(admin_client, **{field: value})
    assert created.status_code == 400, created.content
    assert created.json()["error"]["code"] == "validation_error"
    assert field in created.json()["error"]["details"]
    key = APIKeyFactory(organization=organization)
    changed = admin_client.patch(f"/api/v1/api-keys/{key.id}", {field: value}, format="json")
    assert changed.status_code == 400, changed.content
    assert field in changed.json()["error"]["details"]
    if field != "rate_limit_per_minute":
        limits = admin_client.patch("/api/v1/api-keys/limits", {field: value}, format="json")
        assert limits.status_code == 400, limits.content
        assert field in limits.json()["error"]["details"]
    assert APIKey.objects.for_org(organization).count() == 1


def test_the_largest_storable_limits_are_accepted(admin_client):
    body = {"rate_limit_per_minute": 2**31 - 1, "monthly_token_quota": 2**63 - 1}
    created = _create(admin_client, **body)
    assert created.status_code == 201, created.content
    assert created.json()["monthly_token_quota"] == 2**63 - 1
