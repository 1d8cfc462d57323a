"""A user owns a bounded number of organizations, and names people see hold no control characters."""

import pytest

from apps.organizations.models import Membership, Organization, Role
from apps.organizations.tests.factories import MembershipFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db
CONTROL_NAMES = ["Acme\x00", "Acme\nInc", "Tab\there", "\x1b[31mRed", "Evil\u202egnp.exe", "Bell\x07"]


def test_creating_more_organizations_than_allowed_is_a_clear_409(owner_client, settings):
    settings.ORGANIZATIONS_MAX_OWNED_PER_USER = 3  # the client's user owns one already
    statuses = [
        owner_client.post("/api/v1/organizations", {"name": f"Org {n}"}, format="json").status_code for n in range(3)
    ]
    assert statuses == [201, 201, 409]
    error = owner_client.post("/api/v1/organizations", {"name": "One more"}, format="json").json()["error"]
    assert error["code"] == "organization_limit_reached"
    assert error["details"] == {"owned": 3, "limit": 3}
    assert "3" in error["message"]
    owned = Membership.objects.unscoped().filter(user=owner_client.user, role=Role.OWNER).count()
    assert owned == 3


def test_the_limit_counts_owned_organizations_only(organization, make_member_client, settings):
    settings.ORGANIZATIONS_MAX_OWNED_PER_USER = 1
    client = make_member_client(organization, Role.ADMIN)  # a member, not an owner, of one organization
    assert client.post("/api/v1/organizations", {"name": "Mine"}, format="json").status_code == 201
    assert client.post("/api/v1/organizations", {"name": "Another"}, format="json").status_code == 409


def test_the_default_limit_is_ten(settings):
    assert settings.ORGANIZATIONS_MAX_OWNED_PER_USER == 10


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_an_organization_name_with_control_characters_is_refused(owner_client, organization, name):
    before = Organization.objects.count()
    created = owner_client.post("/api/v1/organizations", {"name": name}, format="json")
    assert created.status_code == 400, created.content
    assert created.json()["error"]["code"] == "validation_error"
    assert "name" in created.json()["error"]["details"]
    renamed = owner_client.patch("/api/v1/organizations/current", {"name": name}, format="json")
    assert renamed.status_code == 400, renamed.content
    assert "name" in renamed.json()["error"]["details"]
    organization.refresh_from_db()
    assert organization.name != name
    assert Organization.objects.count() == before


def test_a_name_with_accents_and_emoji_is_fine(owner_client):
    response = owner_client.post("/api/v1/organizations", {"name": "Café Zürich 🚀"}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "Café Zürich 🚀"


def test_signing_up_with_a_control_character_in_the_organization_name_is_refused(anon_client):
    response = anon_client.post(
        "/api/v1/auth/signup",
        {"email": "ctl@example.com", "password": "a-long-and-unusual-passphrase-42", "organization_name": "A\nB"},
        format="json",
    )
    assert response.status_code == 400
    assert "organization_name" in response.json()["error"]["details"]
    assert not User.objects.filter(email="ctl@example.com").exists()


def test_a_full_name_with_control_characters_is_refused(owner_client):
    response = owner_client.patch("/api/v1/me", {"full_name": "Ada\x1b[2J"}, format="json")
    assert response.status_code == 400
    assert "full_name" in response.json()["error"]["details"]


def test_the_settings_page_refuses_a_name_with_control_characters(client, organization):
    membership = MembershipFactory(organization=organization, role=Role.OWNER)
    client.force_login(membership.user)
    response = client.post("/settings/organization/", {"name": "Evil\u202egnp.exe"})
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    organization.refresh_from_db()
    assert organization.name != "Evil\u202egnp.exe"


def test_the_signup_page_refuses_an_organization_name_with_control_characters(client):
    response = client.post(
        "/signup/",
        {"email": "ctl@example.com", "password": "a-long-and-unusual-passphrase-42", "organization_name": "A\x07B"},
    )
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    assert not User.objects.filter(email="ctl@example.com").exists()
