"""Shared fixtures: users, organizations with roles, and API clients signed in as them."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.organizations.models import Organization, Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fresh_cache(settings) -> None:
    """Throttle counters live in the cache (Redis): every test starts with none.

    Only this test process's keys (its KEY_PREFIX) are deleted: the Redis server may be shared.
    """
    from django.core.cache import cache

    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if not settings.REDIS_URL or not prefix:
        cache.clear()
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory()


@pytest.fixture
def other_organization(db: None) -> Organization:
    return OrganizationFactory()


def _jwt_client(user: User, organization: Organization | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    if organization is not None:
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}",
            HTTP_X_ORGANIZATION=str(organization.id),
        )
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def make_member_client(db: None) -> Callable[..., APIClient]:
    """make_member_client(org, role=Role.MEMBER) → an APIClient with a JWT for a new member of org."""

    def make(organization: Organization, role: str = Role.MEMBER, user: User | None = None) -> APIClient:
        membership = MembershipFactory(organization=organization, role=role, **({"user": user} if user else {}))
        return _jwt_client(membership.user, organization)

    return make


@pytest.fixture
def owner_client(organization: Organization, make_member_client: Callable[..., APIClient]) -> APIClient:
    return make_member_client(organization, Role.OWNER)


@pytest.fixture
def admin_client(organization: Organization, make_member_client: Callable[..., APIClient]) -> APIClient:
    return make_member_client(organization, Role.ADMIN)


@pytest.fixture
def member_client(organization: Organization, make_member_client: Callable[..., APIClient]) -> APIClient:
    return make_member_client(organization, Role.MEMBER)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def redis_url(settings) -> str:
    """The real Redis the tests use; a test that needs it fails (never skips) when there is none."""
    if not settings.REDIS_URL:
        pytest.fail("This test needs Redis: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server.")
    return str(settings.REDIS_URL)


@pytest.fixture
def redis_round_trips(monkeypatch) -> list[list[str]]:
    """The names of the commands of each round trip made to Redis on the hot path (common.core.redis), in order."""
    from common.core import redis as hot

    sent: list[list[str]] = []
    original = hot._round_trip

    def counting(connection, commands):  # type: ignore[no-untyped-def]
        sent.append([str(command[0]) for command in commands])
        return original(connection, commands)

    monkeypatch.setattr(hot, "_round_trip", counting)
    return sent


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failure: nothing is skipped silently."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI (not allowed): {report.longrepr}"


@pytest.fixture
def make_api_key_client(db: None) -> Callable[..., APIClient]:
    """make_api_key_client(org, scopes=[...], **key_fields) → an APIClient sending a fresh API key.

    The key is on `client.api_key` (its plaintext on `client.api_key.plaintext`). Default: every scope.
    """
    from apps.api_keys.models import ALL_SCOPES
    from apps.api_keys.tests.factories import APIKeyFactory

    def make(organization: Organization, scopes: list[str] | None = None, **fields: object) -> APIClient:
        api_key = APIKeyFactory(
            organization=organization, scopes=list(ALL_SCOPES) if scopes is None else scopes, **fields
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.plaintext}")
        client.api_key = api_key  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def api_key_client(organization: Organization, make_api_key_client: Callable[..., APIClient]) -> APIClient:
    """An APIClient with an API key of `organization` holding every scope."""
    return make_api_key_client(organization)
