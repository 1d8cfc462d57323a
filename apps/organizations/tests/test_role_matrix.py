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


# docs/roles.md, area by area: (role to read, role to write). Operations that are "use" rather than
# "change" (asking a bot, feedback, searching) are listed one by one.
AREAS = {
    "/api/v1/bots": (Role.MEMBER, Role.ADMIN),
    "/api/v1/collections": (Role.MEMBER, Role.ADMIN),
    "/api/v1/documents": (Role.MEMBER, Role.ADMIN),
    "/api/v1/conversations": (Role.MEMBER, Role.ADMIN),
    "/api/v1/providers": (Role.ADMIN, Role.ADMIN),  # providers hold secrets: admins only, even to read
    "/api/v1/api-keys": (Role.ADMIN, Role.ADMIN),
    "/api/v1/usage": (Role.ADMIN, Role.ADMIN),
    "/api/v1/rooms": (Role.MEMBER, Role.MEMBER),  # each member's own rooms; owners of a group rule it
    "/api/v1/webhooks": (Role.ADMIN, Role.ADMIN),  # signing secrets, and requests leaving Docent: admins only
    "/api/v1/analytics": (Role.ADMIN, Role.ADMIN),
    "/api/v1/handoffs": (Role.MEMBER, Role.MEMBER),  # every member may act as agent on widget conversations
}
USE_OPERATIONS = {
    "POST /api/v1/bots/{pk}/chat": Role.MEMBER,
    "POST /api/v1/messages/{pk}/feedback": Role.MEMBER,
    "POST /api/v1/search": Role.MEMBER,
    "POST /api/v1/realtime/tickets": Role.MEMBER,
    "GET /openai/v1/models": Role.MEMBER,
    "GET /openai/v1/models/{pk}": Role.MEMBER,
    "POST /openai/v1/chat/completions": Role.MEMBER,
}


def _documented_role(endpoint) -> Role | None:
    key = str(endpoint)
    if key in DOCUMENTED:
        return DOCUMENTED[key]
    if key in USE_OPERATIONS:
        return USE_OPERATIONS[key]
    for prefix, (read, write) in AREAS.items():
        if endpoint.path == prefix or endpoint.path.startswith(prefix + "/"):
            return read if endpoint.method == "GET" else write
    return None


def test_every_endpoint_declares_the_role_docs_roles_md_gives_its_area():
    undocumented, wrong = [], []
    for endpoint in ENDPOINTS:
        documented = _documented_role(endpoint)
        if documented is None:
            undocumented.append(str(endpoint))
        elif required_role(endpoint.view_class, endpoint.method) != documented:
            wrong.append(
                f"{endpoint}: declares {required_role(endpoint.view_class, endpoint.method).value}, "
                f"docs/roles.md says {documented.value}"
            )
    assert not undocumented, f"Add these endpoints' area to docs/roles.md and to AREAS here: {undocumented}"
    assert not wrong, wrong
