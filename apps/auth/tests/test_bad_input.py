"""Bad input gets a 4xx in the common error format, with field details, and never a 500."""

import json

import pytest
from drf_spectacular.generators import EndpointEnumerator

from apps.organizations.tests.isolation import Endpoint, World, discover_factories, kwarg_model

pytestmark = pytest.mark.django_db


def assert_error_format(response, status=None, field=None):
    assert response.status_code < 500, response.content
    if status is not None:
        assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])
    if field is not None:
        assert field in body["error"]["details"], body


MALFORMED = {"data": b'{"email": "a@example.com", ', "content_type": "application/json"}

FIELD_CASES = [
    ("/api/v1/auth/signup", {"email": "not-an-email", "password": "a-long-and-unusual-passphrase-42"}, "email"),
    ("/api/v1/auth/signup", {"email": "a@", "password": "a-long-and-unusual-passphrase-42"}, "email"),
    ("/api/v1/auth/signup", {"email": "x" * 250 + "@example.com", "password": "p" * 20}, "email"),
    ("/api/v1/auth/signup", {"email": "a@example.com", "password": "p" * 257}, "password"),
    ("/api/v1/auth/signup", {"email": "a@example.com", "password": "p" * 20, "full_name": "n" * 151}, "full_name"),
    (
        "/api/v1/auth/signup",
        {"email": "a@example.com", "password": "p" * 20, "organization_name": "o" * 121},
        "organization_name",
    ),
    ("/api/v1/auth/signup", {"email": ["a@example.com"], "password": "p" * 20}, "email"),
    ("/api/v1/auth/signup", {"email": "a@example.com", "password": {"x": 1}}, "password"),
    ("/api/v1/auth/signup", {"email": "a@example.com", "password": "p" * 20, "full_name": "nul\x00byte"}, "full_name"),
    ("/api/v1/auth/login", {"email": 12, "password": "x"}, "email"),
    ("/api/v1/auth/login", {"email": "a@example.com"}, "password"),
    ("/api/v1/auth/refresh", {"refresh": None}, "refresh"),
    ("/api/v1/auth/logout", {}, "refresh"),
    ("/api/v1/auth/password/reset", {"email": "@example.com"}, "email"),
    ("/api/v1/auth/password/reset/confirm", {"token": "t" * 201, "new_password": "x"}, "token"),
    ("/api/v1/auth/password/reset/confirm", {"token": "pr_unknown", "new_password": "a-long-passphrase-42"}, "token"),
    ("/api/v1/auth/password/reset/confirm", {"token": 7, "new_password": "a-long-passphrase-42"}, "token"),
    ("/api/v1/auth/verify-email", {"token": "ev_forged"}, "token"),
    ("/api/v1/auth/verify-email", {"token": ""}, "token"),
    ("/api/v1/invitations/accept", {"token": "inv_forged", "password": "a-long-passphrase-42"}, "token"),
    ("/api/v1/invitations/accept", {"token": ["inv_x"]}, "token"),
]


@pytest.mark.parametrize(("path", "body", "field"), FIELD_CASES, ids=[f"{p} {f}" for p, _, f in FIELD_CASES])
def test_bad_fields_are_named_in_the_error_details(anon_client, path, body, field):
    response = anon_client.post(path, body, format="json")
    assert_error_format(response, status=400, field=field)


ADMIN_CASES = [
    ("post", "/api/v1/invitations", {"email": "nope", "role": "member"}, "email"),
    ("post", "/api/v1/invitations", {"email": "a@example.com", "role": "superuser"}, "role"),
    ("post", "/api/v1/invitations", {"email": "a@example.com", "role": ["admin"]}, "role"),
    ("patch", "/api/v1/organizations/current", {"name": "n" * 121}, "name"),
    ("patch", "/api/v1/organizations/current", {"name": {"x": 1}}, "name"),
    ("post", "/api/v1/organizations", {"name": ""}, "name"),
    ("patch", "/api/v1/me", {"full_name": 5 * ["x"]}, "full_name"),
    ("post", "/api/v1/auth/password/change", {"current_password": "x"}, "new_password"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), ADMIN_CASES, ids=[f"{m} {p} {f}" for m, p, _, f in ADMIN_CASES]
)
def test_bad_fields_from_a_signed_in_owner_are_named(owner_client, method, path, body, field):
    response = getattr(owner_client, method)(path, body, format="json")
    assert_error_format(response, status=400, field=field)


def test_a_bad_role_for_a_member_is_a_field_error(owner_client, organization):
    from apps.organizations.tests.factories import MembershipFactory

    target = MembershipFactory(organization=organization)
    response = owner_client.patch(f"/api/v1/members/{target.id}", {"role": "king"}, format="json")
    assert_error_format(response, status=400, field="role")


def test_malformed_json_is_a_parse_error(anon_client, owner_client):
    for client, path in ((anon_client, "/api/v1/auth/login"), (owner_client, "/api/v1/invitations")):
        response = client.generic("POST", path, **MALFORMED)
        assert_error_format(response, status=400)
        assert response.json()["error"]["code"] == "parse_error"


def test_a_path_id_that_is_not_a_uuid_is_a_json_404(owner_client):
    assert_error_format(owner_client.get("/api/v1/members/not-a-uuid"), status=404)


BAD_BODIES = [
    ("application/json", b'{"email": '),
    ("application/json", b"[]"),
    ("application/json", b'"just a string"'),
    ("application/json", b"null"),
    ("application/json", b"12"),
    ("application/json", b'{"\\ud800": "lone surrogate"}'),
    (
        "application/json",
        json.dumps(
            {
                "email": 12,
                "password": ["x"],
                "name": {"a": 1},
                "role": "superuser",
                "token": 5,
                "refresh": None,
                "full_name": "x" * 10000,
                "new_password": None,
                "current_password": [],
                "organization_name": True,
                "id": "not-a-uuid",
            }
        ).encode(),
    ),
    ("application/x-www-form-urlencoded", b"email=%ZZ&&&=="),
    ("text/plain", b"hello"),
    ("application/json", b"{" * 5000),
]

ALL_ENDPOINTS = [
    Endpoint(path=path, method=method, callback=callback)
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints()
    if method not in ("DELETE", "OPTIONS") and path.startswith("/api/v1/")
]


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=str)
def test_no_malformed_request_produces_a_500(endpoint, organization, make_member_client, other_organization):
    client = make_member_client(organization, "owner")
    world = World(org_a=organization, org_b=other_organization, client_a=client, factories=discover_factories())
    url = endpoint.path
    for kwarg in endpoint.kwargs:
        model = kwarg_model(endpoint, kwarg)
        value = (
            str(world.obj(organization, model).pk)
            if model in world.factories
            else "00000000-0000-0000-0000-000000000000"
        )
        url = url.replace("{" + kwarg + "}", value)
    for content_type, raw in BAD_BODIES:
        if endpoint.method == "GET":
            response = client.get(url + "?page_size=abc&cursor=%%%&ordering=drop")
        else:
            response = client.generic(endpoint.method, url, data=raw, content_type=content_type)
        assert response.status_code < 500, (
            f"{endpoint} {raw[:60]!r} → {response.status_code} {response.content[:300]!r}"
        )
        if response.status_code >= 400:
            assert_error_format(response)
