"""The role matrix (docs/roles.md), enforced by OrganizationRolePermission.

Every organization-scoped endpoint found in the URL conf is called by a member, an admin and an owner:
whoever ranks below the role the view declares for that method gets 403, everyone else does not. So an
endpoint added later is covered by the role it declares.
"""

import json

import pytest

from apps.organizations.models import Role
from apps.organizations.permissions import required_role
from apps.organizations.tests.factories import MembershipFactory
from apps.organizations.tests.isolation import discover_endpoints, discover_factories, kwarg_model

ENDPOINTS = discover_endpoints()
CASES = [(endpoint, role) for endpoint in ENDPOINTS for role in (Role.MEMBER, Role.ADMIN, Role.OWNER)]

# The matrix of docs/roles.md for this app's endpoints: pinned, so a change to it is a visible decision.
DOCUMENTED = {
    "GET /api/v1/organizations/current": Role.MEMBER,
    "PATCH /api/v1/organizations/current": Role.ADMIN,
    "DELETE /api/v1/organizations/current": Role.OWNER,
    "GET /api/v1/members": Role.MEMBER,
    "GET /api/v1/members/{pk}": Role.MEMBER,
    "PATCH /api/v1/members/{pk}": Role.ADMIN,
    "DELETE /api/v1/members/{pk}": Role.ADMIN,
    "POST /api/v1/members/leave": Role.MEMBER,
    "GET /api/v1/invitations": Role.ADMIN,
    "POST /api/v1/invitations": Role.ADMIN,
    "DELETE /api/v1/invitations/{pk}": Role.ADMIN,
    "POST /api/v1/invitations/{pk}/resend": Role.ADMIN,
}


def test_the_organization_endpoints_declare_the_documented_roles():
    declared = {str(e): required_role(e.view_class, e.method) for e in ENDPOINTS if str(e) in DOCUMENTED}
    assert declared == DOCUMENTED


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=[f"{e} as {r.value}" for e, r in CASES])
def test_a_role_below_the_declared_one_gets_403_and_the_others_do_not(endpoint, role, organization, make_member_client):
    MembershipFactory(organization=organization, role=Role.OWNER)  # so leaving or demoting never hits the last owner
    factories = discover_factories()
    url = endpoint.path
    for kwarg in endpoint.kwargs:
        model = kwarg_model(endpoint, kwarg)
        assert model is not None and model in factories, f"{endpoint}: no model/factory for `{kwarg}`"
        url = url.replace("{" + kwarg + "}", str(factories[model](organization=organization).pk))
    client = make_member_client(organization, role)
    body = json.dumps({}) if endpoint.method in ("POST", "PUT", "PATCH") else ""
    response = client.generic(endpoint.method, url, data=body, content_type="application/json")

    needed = required_role(endpoint.view_class, endpoint.method)
    assert response.status_code < 500, response.content
    if role.at_least(needed):
        assert response.status_code != 403, response.json()
    else:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "permission_denied"
        assert error["details"]["required_role"] == needed.value
