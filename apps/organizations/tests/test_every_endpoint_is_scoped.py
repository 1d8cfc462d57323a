"""No /api/v1 endpoint escapes the tenant base class by accident.

The isolation suite checks views that inherit OrganizationScopedMixin; this test makes sure a new endpoint
cannot skip that suite by forgetting the base class. Endpoints that are about the caller rather than an
organization's data are listed here on purpose, with the reason.
"""

from drf_spectacular.generators import EndpointEnumerator

from apps.organizations.views_base import OrganizationScopedMixin

USER_LEVEL = {
    "/api/v1/me": "the caller's own profile",
    "/api/v1/organizations": "lists the caller's memberships; creating one makes the caller its owner",
    "/api/v1/invitations/accept": "the invitation token names the organization",
}
USER_LEVEL_PREFIXES = ("/api/v1/auth/",)  # sign-up, sign-in, tokens, password and email flows


def test_every_api_endpoint_is_organization_scoped_or_listed_as_user_level():
    unscoped = set()
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        if not path.startswith("/api/v1/") or method == "OPTIONS":
            continue
        cls = getattr(callback, "cls", None)
        if isinstance(cls, type) and issubclass(cls, OrganizationScopedMixin):
            continue
        if path in USER_LEVEL or path.startswith(USER_LEVEL_PREFIXES):
            continue
        unscoped.add(f"{method} {path}")
    assert not unscoped, (
        "These endpoints do not inherit OrganizationScopedMixin (apps/organizations/views_base.py), so the "
        f"tenant-isolation suite cannot check them: {sorted(unscoped)}. Inherit the base class, or, if the "
        "endpoint is about the caller rather than an organization's data, list it in USER_LEVEL with the reason."
    )


def test_the_check_catches_an_endpoint_that_skips_the_base_class():
    found = [
        path
        for path, _regex, _method, callback in EndpointEnumerator(
            urlconf="apps.organizations.tests.unscoped_urls"
        ).get_api_endpoints()
        if not issubclass(callback.cls, OrganizationScopedMixin)
    ]
    assert found == ["/api/v1/leaky"]
