"""A JWT request that names its organization reads the member and their membership in one statement, with every
check the two reads made."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import member_read
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.users.services import user_issue_tokens, user_revoke_all_tokens

pytestmark = pytest.mark.django_db


def _client(user, organization_ref: str | None) -> APIClient:
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {user_issue_tokens(user=user)['access']}"}
    if organization_ref is not None:
        headers["HTTP_X_ORGANIZATION"] = organization_ref
    client.credentials(**headers)
    return client


def _identity_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if '"users_user"' in q["sql"] or '"organizations_membership"' in q["sql"]]


@pytest.mark.parametrize("by", ["id", "slug"])
def test_the_member_and_their_membership_come_from_one_statement(by):
    membership = MembershipFactory(role=Role.MEMBER)
    organization = membership.organization
    client = _client(membership.user, str(organization.pk) if by == "id" else organization.slug)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/bots")
    assert response.status_code == 200
    reads = _identity_reads(queries)
    assert len(reads) == 1
    assert '"organizations_membership"' in reads[0] and '"users_user"' in reads[0]


def test_a_member_of_several_organizations_acts_in_the_one_named():
    membership = MembershipFactory(role=Role.ADMIN)
    MembershipFactory(user=membership.user, role=Role.MEMBER)
    response = _client(membership.user, str(membership.organization.pk)).get("/api/v1/organizations/current")
    assert response.status_code == 200
    assert response.json()["id"] == str(membership.organization.pk)


def test_tokens_ended_by_log_out_everywhere_are_refused_when_an_organization_is_named():
    membership = MembershipFactory()
    client = _client(membership.user, str(membership.organization.pk))
    assert client.get("/api/v1/bots").status_code == 200
    user_revoke_all_tokens(user=membership.user)
    response = client.get("/api/v1/bots")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_deactivated_member_is_refused_when_an_organization_is_named():
    membership = MembershipFactory()
    client = _client(membership.user, str(membership.organization.pk))
    membership.user.is_active = False
    membership.user.save(update_fields=["is_active"])
    assert client.get("/api/v1/bots").status_code == 401


def test_naming_an_organization_one_is_not_a_member_of_is_not_found():
    membership = MembershipFactory()
    response = _client(membership.user, str(OrganizationFactory().pk)).get("/api/v1/bots")
    assert response.status_code == 404


def test_without_the_header_the_only_membership_is_used():
    membership = MembershipFactory()
    response = _client(membership.user, None).get("/api/v1/organizations/current")
    assert response.status_code == 200
    assert response.json()["id"] == str(membership.organization.pk)


@pytest.mark.parametrize("by", ["id", "slug"])
def test_the_member_read_for_a_request_is_the_one_the_orm_reads(by):
    membership = MembershipFactory(role=Role.ADMIN)
    organization = membership.organization
    read = member_read(membership.user_id, str(organization.pk) if by == "id" else organization.slug)
    expected = Membership.objects.for_user(membership.user).select_related("user", "organization").get()
    assert read is not None
    for got, want in ((read, expected), (read.user, expected.user), (read.organization, expected.organization)):
        assert type(got) is type(want)
        assert {f.attname: getattr(got, f.attname) for f in want._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in want._meta.concrete_fields
        }
        assert not got._state.adding


def test_no_member_read_for_another_organization_an_unknown_user_or_a_malformed_id():
    membership = MembershipFactory()
    other = OrganizationFactory()
    assert member_read(membership.user_id, str(other.pk)) is None
    assert member_read(membership.user_id, other.slug) is None
    assert member_read(other.pk, str(membership.organization.pk)) is None
    assert member_read("not-a-user-id", str(membership.organization.pk)) is None


def test_a_removed_member_is_refused_on_their_very_next_request():
    membership = MembershipFactory(role=Role.MEMBER)
    owner = MembershipFactory(organization=membership.organization, role=Role.OWNER)
    client = _client(membership.user, str(membership.organization.pk))
    assert client.get("/api/v1/bots").status_code == 200
    remover = _client(owner.user, str(owner.organization.pk))
    assert remover.delete(f"/api/v1/members/{membership.pk}").status_code == 204
    assert client.get("/api/v1/bots").status_code == 404


def test_a_demoted_admin_loses_admin_rights_on_their_very_next_request():
    membership = MembershipFactory(role=Role.ADMIN)
    owner = MembershipFactory(organization=membership.organization, role=Role.OWNER)
    client = _client(membership.user, str(membership.organization.pk))
    assert client.post("/api/v1/bots", {"name": "Before"}, format="json").status_code == 201
    changer = _client(owner.user, str(owner.organization.pk))
    url = f"/api/v1/members/{membership.pk}"
    assert changer.patch(url, {"role": Role.MEMBER}, format="json").status_code == 200
    assert client.post("/api/v1/bots", {"name": "After"}, format="json").status_code == 403
