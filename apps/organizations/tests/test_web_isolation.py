"""Pages with an id in their path keep another organization's objects out of reach (404).

Routes are discovered from the URL conf, so pages added later are covered without editing this file.
"""

import pytest
from django.test import Client

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


def test_the_web_checker_reports_a_page_that_forgets_its_scoping(isolation_world, settings):
    settings.ROOT_URLCONF = "apps.organizations.tests.broken_web_urls"
    routes = discover_web_routes("apps.organizations.tests.broken_web_urls")
    assert [str(r) for r in routes] == ["/leaky/<uuid:pk>/delete/"]
    client = Client()
    client.force_login(isolation_world.client_a.user)
    problems = check_web_route(routes[0], isolation_world, client)
    assert any("answered 302 instead of 404" in p for p in problems)
    assert any("was deleted by organization A's owner" in p for p in problems)
