"""Pages with an id in their path keep another organization's objects out of reach (404).

Routes are discovered from the URL conf, so pages added later are covered without editing this file.
"""

import pytest
from django.test import Client

from apps.organizations.models import Role
from apps.organizations.tests.factories import OrganizationFactory
from apps.organizations.tests.isolation import World, discover_factories
from apps.organizations.tests.web_isolation import check_web_route, discover_web_routes

ROUTES = discover_web_routes()


def test_discovery_finds_the_pages_with_ids():
    found = {str(route) for route in ROUTES}
    assert "/members/<str:membership_id>/remove/" in found
    assert "/invitations/<str:invitation_id>/revoke/" in found
    assert not any("token" in route for route in found)  # links with tokens are not ids


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_pages_answer_404_for_another_organizations_objects(route, isolation_world):
    client = Client()
    client.force_login(isolation_world.client_a.user)
    problems = check_web_route(route, isolation_world, client)
    assert not problems, "\n".join(problems)


def test_the_web_checker_reports_a_page_that_forgets_its_scoping(make_member_client, settings):
    settings.ROOT_URLCONF = "apps.organizations.tests.broken_web_urls"
    routes = discover_web_routes("apps.organizations.tests.broken_web_urls")
    problems = {}
    for route in routes:  # each against fresh organizations: the leaky pages destroy data
        org_a, org_b = OrganizationFactory(), OrganizationFactory()
        client_a = make_member_client(org_a, Role.OWNER)
        world = World(org_a=org_a, org_b=org_b, client_a=client_a, factories=discover_factories())
        client = Client()
        client.force_login(client_a.user)
        problems[str(route)] = check_web_route(route, world, client)
    assert set(problems) == {"/leaky/<uuid:pk>/delete/", "/leaky/<uuid:pk>/revoke/", "/scoped/<uuid:pk>/revoke/"}
    assert any("answered 302 instead of 404" in p for p in problems["/leaky/<uuid:pk>/delete/"])
    assert any("was deleted by organization A's owner" in p for p in problems["/leaky/<uuid:pk>/delete/"])
    assert any("was changed by organization A's owner" in p for p in problems["/leaky/<uuid:pk>/revoke/"])
    assert problems["/scoped/<uuid:pk>/revoke/"] == []
