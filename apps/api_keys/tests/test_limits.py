"""Rate limits, quotas and usage metering, counted in the real Redis.

The clock is pinned to one instant per test so that every request falls in the same one-minute window
(a test that straddles a minute boundary would otherwise get a fresh window half-way).
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from apps.api_keys import metering
from apps.api_keys.cache import load_principal
from apps.api_keys.models import APIKeyUsageDaily, OrganizationAPILimits
from apps.api_keys.services import organization_api_limits_update, usage_flush
from apps.api_keys.tests.factories import APIKeyFactory
from apps.organizations.actors import Actor
from common.core.errors import QuotaExceeded

USAGE = "/api/v1/usage"
pytestmark = pytest.mark.usefixtures("redis_url")  # counters live in the real Redis


@pytest.fixture
def pinned_now(monkeypatch):
    instant = timezone.now().replace(second=5, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    return instant


def _get(key, client=None):
    return (client or Client()).get(USAGE, HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")


def _concurrently(key, n):
    def one(_):
        try:
            return _get(key).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.django_db
def test_every_key_response_carries_rate_limit_headers(organization, pinned_now):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=10)
    first, second = _get(key), _get(key)
    assert first["X-RateLimit-Limit"] == "10"
    assert (first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == ("9", "8")
    window_end = int(pinned_now.timestamp()) // 60 * 60 + 60
    assert first["X-RateLimit-Reset"] == str(window_end)


@pytest.mark.django_db
def test_members_get_no_rate_limit_headers(admin_client):
    response = admin_client.get(USAGE)
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


@pytest.mark.django_db
def test_the_request_over_the_per_minute_limit_gets_429_with_retry_after(organization, pinned_now):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=3)
    assert [_get(key).status_code for _ in range(3)] == [200, 200, 200]
    refused = _get(key)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "55"  # the clock is pinned 5 s into the minute
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Limit"] == "3"


@pytest.mark.django_db
def test_a_rate_limit_binds_each_key_separately(organization, pinned_now):
    limited = APIKeyFactory(organization=organization, rate_limit_per_minute=1)
    other = APIKeyFactory(organization=organization, rate_limit_per_minute=1)
    assert _get(limited).status_code == 200
    assert _get(limited).status_code == 429
    assert _get(other).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_the_rate_limit(organization, pinned_now):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=20)
    statuses = _concurrently(key, 60)
    assert statuses.count(200) == 20
    assert statuses.count(429) == 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_the_daily_quota(organization, pinned_now):
    key = APIKeyFactory(organization=organization, daily_request_quota=15, rate_limit_per_minute=1000)
    statuses = _concurrently(key, 50)
    assert statuses.count(200) == 15
    assert statuses.count(429) == 35
    refused = _get(key)
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert refused.json()["error"]["details"]["quota"] == "key_daily_requests"


@pytest.mark.django_db
def test_a_used_up_daily_quota_answers_quota_exceeded_until_the_next_day(organization, pinned_now):
    key = APIKeyFactory(organization=organization, daily_request_quota=2)
    assert [_get(key).status_code for _ in range(2)] == [200, 200]
    refused = _get(key)
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "quota_exceeded"
    assert body["details"]["quota"] == "key_daily_requests" and body["details"]["limit"] == 2
    tomorrow = (pinned_now + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    assert int(refused["Retry-After"]) == int((tomorrow - pinned_now).total_seconds())


@pytest.mark.django_db
def test_the_organization_quota_is_shared_by_all_its_keys(organization, pinned_now):
    organization_api_limits_update(
        organization=organization, actor=Actor.system(organization=organization), monthly_request_quota=3
    )
    first, second = APIKeyFactory(organization=organization), APIKeyFactory(organization=organization)
    assert [_get(k).status_code for k in (first, second, first)] == [200, 200, 200]
    refused = _get(second)
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["quota"] == "org_monthly_requests"
    assert OrganizationAPILimits.objects.for_org(organization).get().monthly_request_quota == 3


@pytest.mark.django_db
def test_refused_requests_are_not_counted_as_usage(organization, pinned_now):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=2)
    for _ in range(5):
        _get(key)
    usage_flush(days=[pinned_now.date()])
    row = APIKeyUsageDaily.objects.for_org(organization).get(api_key=key)
    assert row.requests == 2
    assert row.errors == 3  # the three 429 responses


@pytest.mark.django_db
def test_a_request_the_organization_quota_refuses_counts_against_neither_the_key_nor_the_minute(
    organization, pinned_now
):
    organization_api_limits_update(
        organization=organization, actor=Actor.system(organization=organization), daily_request_quota=2
    )
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=3)
    assert [_get(key).status_code for _ in range(4)] == [200, 200, 429, 429]
    organization_api_limits_update(
        organization=organization, actor=Actor.system(organization=organization), daily_request_quota=0
    )
    # the two refused requests took nothing from the minute's three, nor from the key's day
    third = _get(key)
    assert third.status_code == 200 and third["X-RateLimit-Remaining"] == "0"
    assert _get(key).json()["error"]["code"] == "rate_limited"
    usage_flush(days=[pinned_now.date()])
    assert APIKeyUsageDaily.objects.for_org(organization).get(api_key=key).requests == 3


@pytest.mark.django_db
def test_llm_tokens_are_metered_and_their_quota_enforced(organization, pinned_now):
    key = APIKeyFactory(organization=organization, daily_token_quota=1000)
    principal = load_principal(key.prefix)
    metering.check_llm_token_quota(request_auth=principal)
    metering.record_llm_tokens(request_auth=principal, tokens=600)
    metering.check_llm_token_quota(request_auth=principal)
    metering.record_llm_tokens(request_auth=principal, tokens=400)
    with pytest.raises(QuotaExceeded) as refused:
        metering.check_llm_token_quota(request_auth=principal)
    assert refused.value.details["quota"] == "key_daily_tokens"
    usage_flush(days=[pinned_now.date()])
    assert APIKeyUsageDaily.objects.for_org(organization).get(api_key=key).tokens == 1000


def test_metering_does_nothing_for_requests_without_an_api_key(monkeypatch):
    touched = []
    monkeypatch.setattr(metering.limits, "add_usage", lambda *args, **kwargs: touched.append("add_usage"))
    monkeypatch.setattr(metering, "enforce_token_quota", lambda *args, **kwargs: touched.append("quota"))
    for request_auth in (None, object()):
        metering.record_llm_tokens(request_auth=request_auth, tokens=50)
        metering.check_llm_token_quota(request_auth=request_auth)
        metering.record_error(request_auth=request_auth)
    assert touched == []


@pytest.mark.django_db
def test_the_usage_flush_sets_counts_and_can_run_twice(organization, pinned_now):
    key = APIKeyFactory(organization=organization, scopes=["search"])
    _get(key)  # 403: lacks analytics:read, still an admitted request and an error
    key2 = APIKeyFactory(organization=organization)
    _get(key2)
    _get(key2)
    assert usage_flush(days=[pinned_now.date()]) >= 2
    assert usage_flush(days=[pinned_now.date()]) >= 2
    rows = {r.api_key_id: (r.requests, r.tokens, r.errors) for r in APIKeyUsageDaily.objects.for_org(organization)}
    assert rows == {key.pk: (1, 0, 1), key2.pk: (2, 0, 0)}


@pytest.mark.django_db
def test_the_usage_flush_task_is_scheduled_and_runs(organization, pinned_now, settings):
    from apps.api_keys.tasks import api_key_usage_flush_task

    schedule = settings.CELERY_BEAT_SCHEDULE["api-keys-flush-usage"]
    assert schedule["task"] == api_key_usage_flush_task.name
    key = APIKeyFactory(organization=organization)
    _get(key)
    api_key_usage_flush_task.delay()
    assert APIKeyUsageDaily.objects.for_org(organization).get(api_key=key).requests == 1


@pytest.mark.django_db
def test_a_key_refused_by_an_endpoint_still_gets_rate_limit_headers(organization, pinned_now):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=10)
    response = Client().get("/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")
    assert response.status_code == 403
    assert response["X-RateLimit-Remaining"] == "9"


@pytest.mark.django_db(transaction=True)
def test_concurrent_token_reports_are_all_counted(organization, pinned_now):
    key = APIKeyFactory(organization=organization)
    principal = load_principal(key.prefix)

    def report(_):
        metering.record_llm_tokens(request_auth=principal, tokens=7)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(report, range(64)))
    usage_flush(days=[pinned_now.date()])
    assert APIKeyUsageDaily.objects.for_org(organization).get(api_key=key).tokens == 64 * 7


@pytest.mark.django_db
def test_without_redis_the_development_fallback_still_authenticates_limits_and_revokes(
    organization, pinned_now, settings
):
    settings.USE_REDIS = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fb"}}
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=2)
    assert [_get(key).status_code for _ in range(3)] == [200, 200, 429]
    metering.record_llm_tokens(request_auth=load_principal(key.prefix), tokens=5)
    usage_flush(days=[pinned_now.date()])
    row = APIKeyUsageDaily.objects.for_org(organization).get(api_key=key)
    assert (row.requests, row.tokens, row.errors) == (2, 5, 1)
    from apps.api_keys.services import api_key_revoke

    api_key_revoke(organization=organization, actor=Actor.system(organization=organization), api_key_id=key.pk)
    assert _get(key).status_code == 401


@pytest.mark.django_db
def test_a_new_organization_quota_applies_to_keys_already_cached(organization, pinned_now):
    key = APIKeyFactory(organization=organization)
    assert [_get(key).status_code for _ in range(2)] == [200, 200]
    organization_api_limits_update(
        organization=organization, actor=Actor.system(organization=organization), daily_request_quota=2
    )
    refused = _get(key)
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["quota"] == "org_daily_requests"
