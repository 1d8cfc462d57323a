import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.organizations.models import AuditEvent, Invitation, Membership, Organization, Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
STRONG = "a-long-and-unusual-passphrase-42"


def invitation_token() -> str:
    match = re.search(r"/invitations/([\w-]+)/", mail.outbox[-1].body)
    assert match
    return match.group(1)


@pytest.fixture
def invite(admin_client, django_capture_on_commit_callbacks):
    def make(email="new@example.com", role="member", client=admin_client):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/invitations", {"email": email, "role": role}, format="json")
        assert response.status_code == 201, response.json()
        return response.json(), invitation_token()

    return make


def test_my_organizations_lists_each_membership_with_its_role(owner_client, organization, make_member_client):
    other = OrganizationFactory()
    MembershipFactory(organization=other, user=owner_client.user, role=Role.MEMBER)
    body = owner_client.get("/api/v1/organizations").json()
    assert {(o["id"], o["role"]) for o in body} == {(str(organization.id), "owner"), (str(other.id), "member")}


def test_creating_an_organization_makes_the_caller_its_owner(owner_client):
    response = owner_client.post("/api/v1/organizations", {"name": "Second Org"}, format="json")
    assert response.status_code == 201
    org = Organization.objects.get(pk=response.json()["id"])
    assert org.slug.startswith("second-org")
    assert Membership.objects.unscoped().get(organization=org).role == Role.OWNER


def jwt(user, organization_ref=None):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}
    if organization_ref:
        headers["HTTP_X_ORGANIZATION"] = organization_ref
    client.credentials(**headers)
    return client


def test_the_organization_can_be_named_by_slug_in_the_header(owner_client, organization):
    MembershipFactory(user=owner_client.user)  # a second organization, so the header decides
    response = jwt(owner_client.user, organization.slug).get("/api/v1/organizations/current")
    assert response.status_code == 200
    assert response.json()["id"] == str(organization.id)


def test_a_non_member_naming_an_organization_gets_404(owner_client, other_organization):
    for ref in (str(other_organization.id), other_organization.slug):
        response = jwt(owner_client.user, ref).get("/api/v1/members")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_without_the_header_the_only_membership_is_used(organization):
    membership = MembershipFactory(organization=organization)
    client = jwt(membership.user)
    assert client.get("/api/v1/organizations/current").json()["id"] == str(organization.id)

    MembershipFactory(user=membership.user)  # a second organization: now the caller must choose
    response = client.get("/api/v1/organizations/current")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "organization_required"


def test_an_admin_renames_the_organization_and_it_is_audited(admin_client, organization):
    response = admin_client.patch("/api/v1/organizations/current", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    organization.refresh_from_db()
    assert organization.name == "Renamed"
    assert AuditEvent.objects.for_org(organization).filter(action="organization.updated").exists()


def test_only_an_owner_deletes_the_organization(admin_client, owner_client, organization):
    assert admin_client.delete("/api/v1/organizations/current").status_code == 403
    assert owner_client.delete("/api/v1/organizations/current").status_code == 204
    assert not Organization.objects.filter(pk=organization.pk).exists()


def test_members_list_shows_everyone_in_the_organization(member_client, organization):
    MembershipFactory(organization=organization, role=Role.ADMIN)
    MembershipFactory()  # another organization
    body = member_client.get("/api/v1/members").json()
    assert len(body) == 2
    assert {m["role"] for m in body} == {"member", "admin"}


def test_an_admin_promotes_a_member_to_admin(admin_client, organization):
    target = MembershipFactory(organization=organization, role=Role.MEMBER)
    response = admin_client.patch(f"/api/v1/members/{target.id}", {"role": "admin"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    event = AuditEvent.objects.for_org(organization).get(action="member.role_changed")
    assert event.data["to"] == "admin"


def test_an_admin_cannot_grant_or_touch_the_owner_role(admin_client, organization):
    member = MembershipFactory(organization=organization, role=Role.MEMBER)
    owner = MembershipFactory(organization=organization, role=Role.OWNER)
    assert admin_client.patch(f"/api/v1/members/{member.id}", {"role": "owner"}, format="json").status_code == 403
    member.refresh_from_db()
    assert member.role == Role.MEMBER
    assert admin_client.patch(f"/api/v1/members/{owner.id}", {"role": "member"}, format="json").status_code == 403
    assert admin_client.delete(f"/api/v1/members/{owner.id}").status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_a_member_cannot_change_roles(member_client, organization):
    target = MembershipFactory(organization=organization, role=Role.MEMBER)
    response = member_client.patch(f"/api/v1/members/{target.id}", {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["details"]["required_role"] == "admin"


def test_the_last_owner_can_neither_be_demoted_nor_removed_nor_leave(owner_client, organization):
    me = Membership.objects.unscoped().get(user=owner_client.user)
    demote = owner_client.patch(f"/api/v1/members/{me.id}", {"role": "admin"}, format="json")
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"
    assert owner_client.delete(f"/api/v1/members/{me.id}").status_code == 409
    assert owner_client.post("/api/v1/members/leave").status_code == 409
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_with_two_owners_one_can_be_demoted_and_the_other_can_leave(owner_client, organization):
    other = MembershipFactory(organization=organization, role=Role.OWNER)
    assert owner_client.patch(f"/api/v1/members/{other.id}", {"role": "member"}, format="json").status_code == 200
    other.refresh_from_db()
    assert other.role == Role.MEMBER
    other.role = Role.OWNER
    other.save()
    assert owner_client.post("/api/v1/members/leave").status_code == 204
    assert not Membership.objects.unscoped().filter(user=owner_client.user, organization=organization).exists()
    other.refresh_from_db()
    assert other.role == Role.OWNER


def test_an_admin_removes_a_member(admin_client, organization):
    target = MembershipFactory(organization=organization)
    assert admin_client.delete(f"/api/v1/members/{target.id}").status_code == 204
    assert not Membership.objects.unscoped().filter(pk=target.pk).exists()
    assert AuditEvent.objects.for_org(organization).filter(action="member.removed").exists()


def test_an_invitation_is_emailed_and_stored_only_as_a_hash(invite, organization):
    body, token = invite("Friend@Example.com", "admin")
    assert body["email"] == "friend@example.com"
    assert body["status"] == "pending"
    assert token.startswith("inv_")
    assert not Invitation.objects.unscoped().filter(token_hash=token).exists()
    assert mail.outbox[-1].to == ["friend@example.com"]
    assert AuditEvent.objects.for_org(organization).filter(action="invitation.created").exists()


def test_an_admin_cannot_invite_an_owner(admin_client):
    response = admin_client.post("/api/v1/invitations", {"email": "x@example.com", "role": "owner"}, format="json")
    assert response.status_code == 403
    assert not Invitation.objects.unscoped().filter(email="x@example.com").exists()


def test_inviting_a_member_or_a_pending_email_again_is_a_conflict(admin_client, invite, organization):
    existing = MembershipFactory(organization=organization)
    response = admin_client.post("/api/v1/invitations", {"email": existing.user.email}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_member"
    invite("dup@example.com")
    again = admin_client.post("/api/v1/invitations", {"email": "DUP@example.com"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_invited"


def test_a_new_person_accepts_with_a_password_and_gets_an_account(invite, anon_client, organization):
    _, token = invite("newbie@example.com", "admin")
    response = anon_client.post(
        "/api/v1/invitations/accept", {"token": token, "password": STRONG, "full_name": "New Bie"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["organization"]["id"] == str(organization.id)
    assert body["role"] == "admin"
    user = User.objects.get(email="newbie@example.com")
    assert user.email_verified_at is not None
    assert Membership.objects.unscoped().get(user=user, organization=organization).role == Role.ADMIN
    replay = anon_client.post("/api/v1/invitations/accept", {"token": token, "password": STRONG}, format="json")
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_invitation"


def test_an_existing_user_accepts_while_signed_in(invite, make_member_client, organization):
    elsewhere = make_member_client(OrganizationFactory(), Role.OWNER)
    _, token = invite(elsewhere.user.email)
    response = elsewhere.post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert response.status_code == 200
    assert Membership.objects.unscoped().get(user=elsewhere.user, organization=organization).role == Role.MEMBER


def test_an_existing_user_must_sign_in_to_accept(invite, anon_client):
    existing = UserFactory()
    _, token = invite(existing.email)
    response = anon_client.post("/api/v1/invitations/accept", {"token": token, "password": STRONG}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_exists"


def test_an_invitation_for_another_email_cannot_be_accepted(invite, make_member_client):
    _, token = invite("someone-else@example.com")
    stranger = make_member_client(OrganizationFactory(), Role.MEMBER)
    response = stranger.post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invitation_email_mismatch"


def test_expired_or_revoked_invitations_cannot_be_accepted(invite, admin_client, anon_client):
    body, token = invite("late@example.com")
    Invitation.objects.unscoped().filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = anon_client.post("/api/v1/invitations/accept", {"token": token, "password": STRONG}, format="json")
    assert expired.status_code == 400

    body, token = invite("revoked@example.com")
    assert admin_client.delete(f"/api/v1/invitations/{body['id']}").status_code == 204
    assert admin_client.get("/api/v1/invitations").json() == []
    revoked = anon_client.post("/api/v1/invitations/accept", {"token": token, "password": STRONG}, format="json")
    assert revoked.status_code == 400
    assert not User.objects.filter(email="revoked@example.com").exists()


def test_resending_issues_a_new_link_and_the_old_one_stops_working(
    invite, admin_client, anon_client, django_capture_on_commit_callbacks
):
    body, old_token = invite("resend@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/invitations/{body['id']}/resend")
    assert response.status_code == 200
    new_token = invitation_token()
    assert new_token != old_token
    old = anon_client.post("/api/v1/invitations/accept", {"token": old_token, "password": STRONG}, format="json")
    assert old.status_code == 400
    new = anon_client.post("/api/v1/invitations/accept", {"token": new_token, "password": STRONG}, format="json")
    assert new.status_code == 201


def test_accepting_without_an_account_or_password_asks_for_a_password(invite, anon_client):
    _, token = invite("nopw@example.com")
    response = anon_client.post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["details"]
