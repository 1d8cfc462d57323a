"""Every organization-scoped endpoint keeps another organization's objects out of reach: 404 on read,
update and delete, absent from lists, and refused when referenced in a request body.

Endpoints are discovered from the URL conf, so one added later is covered without editing this file.
"""

import pytest

from apps.organizations.tests.isolation import check_endpoint, discover_endpoints

ENDPOINTS = discover_endpoints()


def test_discovery_finds_the_organization_scoped_endpoints():
    found = {str(endpoint) for endpoint in ENDPOINTS}
    assert "GET /api/v1/members" in found
    assert "DELETE /api/v1/members/{pk}" in found
    assert "POST /api/v1/invitations/{pk}/resend" in found
    # user-level endpoints are not organization-scoped
    assert "GET /api/v1/me" not in found
    assert not any(path.startswith("POST /api/v1/auth/") for path in found)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_another_organizations_objects_are_out_of_reach(endpoint, isolation_world):
    problems = check_endpoint(endpoint, isolation_world)
    assert not problems, "\n".join(problems)


def test_the_checker_reports_an_endpoint_that_forgets_its_scoping(isolation_world, settings):
    settings.ROOT_URLCONF = "apps.organizations.tests.broken_urls"
    endpoints = discover_endpoints(urlconf="apps.organizations.tests.broken_urls")
    problems = {str(e): check_endpoint(e, isolation_world) for e in endpoints}
    assert set(problems) == {
        "GET /api/v1/leaky/invitations",
        "GET /api/v1/leaky/invitations/{pk}",
        "POST /api/v1/leaky/create",
        "POST /api/v1/leaky/create-related",
        "POST /api/v1/scoped/create",
    }
    assert any("includes organization B's ids" in p for p in problems["GET /api/v1/leaky/invitations"])
    assert any("instead of 404" in p for p in problems["GET /api/v1/leaky/invitations/{pk}"])
    assert any(
        "accepted organization B's Invitation in `invitation_id`" in p for p in problems["POST /api/v1/leaky/create"]
    )
    assert any(
        "accepted organization B's Invitation in `invitation`" in p
        for p in problems["POST /api/v1/leaky/create-related"]
    )
    # and the correctly scoped twin passes
    assert problems["POST /api/v1/scoped/create"] == []


def test_the_checker_fails_when_a_model_has_no_factory(isolation_world):
    endpoint = next(e for e in ENDPOINTS if str(e) == "DELETE /api/v1/members/{pk}")
    del isolation_world.factories[endpoint.view_class.model]
    problems = check_endpoint(endpoint, isolation_world)
    assert any("No factory for organizations.Membership" in p for p in problems)


def test_reference_names_are_matched_to_models():
    from apps.chatbot_provider.models import ChatbotProvider
    from apps.organizations.models import Invitation
    from apps.organizations.tests.isolation import _model_named

    assert _model_named("invitation") is Invitation
    assert _model_named("provider") is ChatbotProvider  # a unique suffix of chatbotprovider
    assert _model_named("embedding_provider") is ChatbotProvider  # the last word decides
    assert _model_named("nothing_like_this") is None
