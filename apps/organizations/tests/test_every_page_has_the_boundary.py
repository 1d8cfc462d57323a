"""No server-rendered page escapes the web boundary by accident (the twin of test_every_endpoint_is_scoped).

Every page is either an organization page behind `tenant_required(role)` or a page about the person
(`user_page`: sign-in, sign-up, the switcher, accepting an invitation). A user who belongs to no
organization gets a page or a redirect from every one of them, never a server error.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from apps.users.tests.factories import UserFactory

# openai/ and widget/: APIs, checked by their own suites; widget.js: a public script for other sites' pages
NOT_PAGES = ("api/", "openai/", "widget/", "widget.js", "admin/", "healthz", "readyz")


def _pages(urlconf: str | None = None) -> list[tuple[str, object]]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    return [
        (route, view) for route, view in walk(get_resolver(urlconf).url_patterns) if not route.startswith(NOT_PAGES)
    ]


def _unbounded(urlconf: str | None = None) -> list[str]:
    return sorted(route for route, view in _pages(urlconf) if not hasattr(view, "tenant_boundary"))


def test_every_page_is_behind_the_tenant_boundary_or_declared_a_user_page():
    assert _pages(), "no pages found: the walk is broken"
    missing = _unbounded()
    assert not missing, (
        f"These pages skip the web boundary: {missing}. Decorate them with "
        "apps.organizations.web.tenant_required(role), or with user_page if they are about the person."
    )


def test_the_check_catches_a_page_that_skips_the_boundary():
    assert _unbounded("apps.organizations.tests.unbounded_web_urls") == ["leaky/"]


def _concrete(route: str) -> str:
    route = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), route)
    return "/" + re.sub(r"<(?:str:)?\w+>", "x", route)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_user_without_an_organization_never_gets_a_server_error(client, method):
    client.force_login(UserFactory())
    statuses = {}
    for route, _view in _pages():
        statuses[route] = getattr(client, method)(_concrete(route)).status_code
    errors = {route: status for route, status in statuses.items() if status >= 500}
    assert not errors, errors
    assert statuses["documents/"] in (302, 405) and statuses["members/"] in (302, 405)
