import pytest

pytestmark = pytest.mark.django_db


def test_me_shows_the_profile_and_memberships(owner_client, organization):
    body = owner_client.get("/api/v1/me").json()
    assert body["email"] == owner_client.user.email
    assert body["organizations"] == [
        {
            "organization_id": str(organization.id),
            "organization_name": organization.name,
            "organization_slug": organization.slug,
            "role": "owner",
        }
    ]


def test_me_patch_updates_the_name(member_client):
    response = member_client.patch("/api/v1/me", {"full_name": "  Grace Hopper "}, format="json")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Grace Hopper"
    member_client.user.refresh_from_db()
    assert member_client.user.full_name == "Grace Hopper"


def test_me_patch_refuses_an_overlong_name(member_client):
    response = member_client.patch("/api/v1/me", {"full_name": "x" * 151}, format="json")
    assert response.status_code == 400
    assert "full_name" in response.json()["error"]["details"]


def test_me_needs_authentication(anon_client):
    response = anon_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_emails_are_unique_regardless_of_case(db):
    from django.db import IntegrityError, transaction

    from apps.users.models import User

    User.objects.create_user("Case@Example.com", "pw-123456789x")
    assert User.objects.get_by_natural_key("CASE@example.com").email == "case@example.com"
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="CASE@EXAMPLE.COM")
