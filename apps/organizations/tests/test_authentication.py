"""A JWT request that names its organization reads the member and their membership in one statement, with every
check the two reads made."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.organizations.models import Role
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
