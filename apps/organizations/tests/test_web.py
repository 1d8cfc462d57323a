"""Server-rendered organization pages: dashboard, members, invitations, switcher and settings."""

import re

import pytest
from django.core import mail

from apps.organizations.actors import Actor
from apps.organizations.models import Invitation, Membership, Organization, Role
from apps.organizations.tenancy import SESSION_KEY
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db
STRONG = "a-long-and-unusual-passphrase-42"


def signed_in(client, organization, role):
    membership = MembershipFactory(organization=organization, role=role)
    client.force_login(membership.user)
    return membership


def test_the_dashboard_sends_anonymous_visitors_to_login(client):
    assert client.get("/")["Location"] == "/login/"


def test_a_member_sees_the_members_page_without_admin_controls(client, organization):
    signed_in(client, organization, Role.MEMBER)
    page = client.get("/members/").content.decode()
    assert "Members of" in page
    assert "Invite someone" not in page


def test_an_admin_invites_from_the_members_page(client, organization, django_capture_on_commit_callbacks):
    signed_in(client, organization, Role.ADMIN)
    assert "Invite someone" in client.get("/members/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/members/invite/", {"email": "web-invitee@example.com", "role": "member"})
    assert response["Location"] == "/members/"
    assert Invitation.objects.for_org(organization).filter(email="web-invitee@example.com").exists()
    assert "web-invitee@example.com" in client.get("/members/").content.decode()
    assert mail.outbox[-1].to == ["web-invitee@example.com"]


def test_a_member_cannot_post_admin_actions(client, organization):
    signed_in(client, organization, Role.MEMBER)
    other = MembershipFactory(organization=organization)
    assert client.post("/members/invite/", {"email": "x@example.com", "role": "member"}).status_code == 403
    assert client.post(f"/members/{other.id}/remove/").status_code == 403
    assert not Invitation.objects.unscoped().filter(email="x@example.com").exists()
    assert Membership.objects.unscoped().filter(pk=other.pk).exists()


def test_an_admin_changes_a_role_and_removes_a_member(client, organization):
    signed_in(client, organization, Role.ADMIN)
    target = MembershipFactory(organization=organization)
    client.post(f"/members/{target.id}/role/", {"role": "admin"})
    target.refresh_from_db()
    assert target.role == Role.ADMIN
    client.post(f"/members/{target.id}/remove/")
    assert not Membership.objects.unscoped().filter(pk=target.pk).exists()


def test_the_last_owner_sees_why_they_cannot_leave(client, organization):
    owner = signed_in(client, organization, Role.OWNER)
    response = client.post("/members/leave/", follow=True)
    assert "at least one owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_another_organizations_member_is_404_on_the_web(client, organization, other_organization):
    signed_in(client, organization, Role.OWNER)
    foreign = MembershipFactory(organization=other_organization)
    assert client.post(f"/members/{foreign.id}/remove/").status_code == 404
    assert client.post(f"/members/{foreign.id}/role/", {"role": "admin"}).status_code == 404
    invitation = InvitationFactory(organization=other_organization)
    assert client.post(f"/invitations/{invitation.id}/revoke/").status_code == 404
    assert Membership.objects.unscoped().filter(pk=foreign.pk).exists()


def test_admins_revoke_and_resend_invitations(client, organization, django_capture_on_commit_callbacks):
    signed_in(client, organization, Role.ADMIN)
    invitation = InvitationFactory(organization=organization)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/invitations/{invitation.id}/resend/")
    assert mail.outbox[-1].to == [invitation.email]
    client.post(f"/invitations/{invitation.id}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_the_switcher_changes_the_current_organization(client, organization):
    membership = signed_in(client, organization, Role.MEMBER)
    second = OrganizationFactory(name="Second Org")
    MembershipFactory(organization=second, user=membership.user, role=Role.OWNER)
    page = client.get("/").content.decode()
    assert 'action="/switch-organization/"' in page
    assert "Second Org" in page
    response = client.post("/switch-organization/", {"organization": str(second.id), "next": "/members/"})
    assert response["Location"] == "/members/"
    assert client.session[SESSION_KEY] == str(second.id)
    assert "Second Org" in client.get("/members/").content.decode()


def test_the_switcher_refuses_an_organization_you_are_not_in(client, organization, other_organization):
    signed_in(client, organization, Role.MEMBER)
    assert client.post("/switch-organization/", {"organization": str(other_organization.id)}).status_code == 404
    assert client.post("/switch-organization/", {"organization": "garbage"}).status_code == 404


def test_settings_rename_and_owner_only_delete_with_confirmation(client, organization):
    owner = signed_in(client, organization, Role.OWNER)
    client.post("/settings/organization/", {"name": "New Name"})
    organization.refresh_from_db()
    assert organization.name == "New Name"
    client.post("/settings/organization/delete/", {"confirm_slug": "wrong"})
    assert Organization.objects.filter(pk=organization.pk).exists()
    client.post("/settings/organization/delete/", {"confirm_slug": organization.slug})
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert client.get("/").status_code == 200  # no organization left: a plain page, not an error
    assert User.objects.filter(pk=owner.user_id).exists()


def test_an_admin_cannot_delete_the_organization(client, organization):
    signed_in(client, organization, Role.ADMIN)
    assert "Delete the organization" not in client.get("/settings/organization/").content.decode()
    assert client.post("/settings/organization/delete/", {"confirm_slug": organization.slug}).status_code == 403
    assert Organization.objects.filter(pk=organization.pk).exists()


def test_a_new_person_accepts_an_invitation_on_the_web(client, organization, django_capture_on_commit_callbacks):
    admin = MembershipFactory(organization=organization, role=Role.ADMIN)
    from apps.organizations.services import invitation_create

    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organization=organization,
            actor=Actor.for_user(admin.user).in_organization(organization, admin),
            email="joiner@example.com",
            role="member",
        )
    token = re.search(r"/invitations/([\w-]+)/", mail.outbox[-1].body).group(1)
    page = client.get(f"/invitations/{token}/")
    assert f"Join {organization.name}" in page.content.decode()
    response = client.post(f"/invitations/{token}/", {"full_name": "Joiner", "password": STRONG})
    assert response["Location"] == "/"
    user = User.objects.get(email="joiner@example.com")
    assert Membership.objects.unscoped().filter(user=user, organization=organization).exists()
    assert client.get(f"/invitations/{token}/").status_code == 400
