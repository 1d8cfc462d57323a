"""Who gets in with an API key, and what every refused key sees."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.api_keys.models import APIKey
from apps.api_keys.services import api_key_revoke, api_key_rotate
from apps.api_keys.tests.factories import APIKeyFactory
from apps.organizations.actors import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_url")]

USAGE = "/api/v1/usage"
INVALID = {"error": {"code": "authentication_failed", "message": "Invalid API key.", "details": {}}}


def _get(client, key, *, header="bearer", **extra):
    if header == "bearer":
        return client.get(USAGE, HTTP_AUTHORIZATION=f"Bearer {key}", **extra)
    return client.get(USAGE, HTTP_X_API_KEY=key, **extra)


def test_a_key_in_the_authorization_header_reaches_its_organizations_endpoint(client, organization):
    key = APIKeyFactory(organization=organization)
    response = _get(client, key.plaintext)
    assert response.status_code == 200, response.content
    today = str(timezone.now().date())
    assert response.json() == [{"date": today, "requests": 1, "tokens": 0, "errors": 0}]


def test_a_key_in_the_x_api_key_header_works_too(client, organization):
    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext, header="x-api-key").status_code == 200


def test_the_key_has_the_documented_format(organization):
    key = APIKeyFactory(organization=organization)
    prefix, secret = key.plaintext.removeprefix("dk_").split("_", 1)
    assert prefix == key.prefix and len(prefix) == 12
    assert len(secret) >= 43  # 32 random bytes, base64url
    assert key.plaintext not in str(APIKey.objects.unscoped().filter(pk=key.pk).values().get())
    assert key.secret_hash != key.plaintext and len(key.secret_hash) == 64


def _variants(organization, other_organization):
    good = APIKeyFactory(organization=organization)
    revoked = APIKeyFactory(organization=organization)
    api_key_revoke(organization=organization, actor=Actor.system(organization=organization), api_key_id=revoked.pk)
    expired = APIKeyFactory(organization=organization, expires_at=timezone.now() + timedelta(seconds=30))
    APIKey.objects.unscoped().filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    from apps.api_keys.cache import bump_generation

    bump_generation([expired.prefix])
    foreign = APIKeyFactory(organization=other_organization)
    return {
        "malformed": "dk_nothex_short",
        "garbage": "not-a-key-at-all",
        "unknown prefix": "dk_0123456789ab_" + good.plaintext.split("_", 2)[2],
        "wrong secret": good.plaintext[:-4] + ("AAAA" if not good.plaintext.endswith("AAAA") else "BBBB"),
        "revoked": revoked.plaintext,
        "expired": expired.plaintext,
        "other organization named": (foreign.plaintext, str(organization.id)),
    }


@pytest.mark.parametrize(
    "variant",
    ["malformed", "garbage", "unknown prefix", "wrong secret", "revoked", "expired", "other organization named"],
)
def test_every_bad_key_gets_the_same_401(client, organization, other_organization, variant):
    value = _variants(organization, other_organization)[variant]
    extra = {}
    if isinstance(value, tuple):
        value, named = value
        extra["HTTP_X_ORGANIZATION"] = named
    response = _get(client, value, header="x-api-key" if variant == "garbage" else "bearer", **extra)
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_key_naming_its_own_organization_works_and_odd_headers_do_not_crash(client, organization):
    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext, HTTP_X_ORGANIZATION=organization.slug).status_code == 200
    assert _get(client, key.plaintext, HTTP_X_ORGANIZATION=str(organization.id)).status_code == 200
    assert _get(client, key.plaintext, HTTP_X_ORGANIZATION="caf\u00e9").status_code == 401
    assert _get(client, "dk_caf\u00e9", header="x-api-key").status_code == 401


def test_a_bearer_token_that_is_not_an_api_key_is_left_to_jwt(client, organization):
    response = client.get(USAGE, HTTP_AUTHORIZATION="Bearer eyJnot.a.jwt")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response.json()["error"]["message"] != "Invalid API key."


def test_members_with_jwt_still_get_in(admin_client):
    assert admin_client.get(USAGE).status_code == 200


def test_revocation_takes_effect_on_the_very_next_request_with_the_key_cached(client, organization):
    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext).status_code == 200
    assert _get(client, key.plaintext).status_code == 200  # now served from the cache
    api_key_revoke(organization=organization, actor=Actor.system(organization=organization), api_key_id=key.pk)
    assert _get(client, key.plaintext).status_code == 401


def test_a_snapshot_cached_just_before_revocation_is_never_served_again(client, organization):
    """A request that loaded the row before the revocation committed may write it to the cache after the
    revocation bumped the generation; that snapshot carries the old generation and is ignored."""
    from apps.api_keys import cache as key_cache

    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext).status_code == 200
    stale = key_cache.load_principal(key.prefix)
    api_key_revoke(organization=organization, actor=Actor.system(organization=organization), api_key_id=key.pk)
    key_cache.snapshot_store().set(key_cache.entry_key(key.prefix), stale, 60)  # the racing request's late write
    assert _get(client, key.plaintext).status_code == 401


def test_rotation_retires_the_old_secret_at_once(client, organization):
    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext).status_code == 200
    issued = api_key_rotate(organization=organization, actor=Actor.system(organization=organization), api_key_id=key.pk)
    assert _get(client, key.plaintext).status_code == 401
    assert _get(client, issued.plaintext).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(client, organization):
    key = APIKeyFactory(organization=organization)
    _get(client, key.plaintext, REMOTE_ADDR="203.0.113.7")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None and key.last_used_ip == "203.0.113.7"
    _get(client, key.plaintext, REMOTE_ADDR="203.0.113.8")
    key.refresh_from_db()
    assert key.last_used_at == first and key.last_used_ip == "203.0.113.7"


def test_a_key_cannot_reach_a_view_outside_organization_scoped_apis(client, organization):
    key = APIKeyFactory(organization=organization)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"reason": "api_key_not_allowed"}


def test_a_key_of_one_organization_sees_only_its_own_usage(client, organization, other_organization):
    from apps.api_keys.tests.factories import APIKeyUsageDailyFactory

    mine = APIKeyFactory(organization=organization)
    theirs = APIKeyFactory(organization=other_organization)
    two_days_ago = timezone.now().date() - timedelta(days=2)
    APIKeyUsageDailyFactory(api_key=theirs, date=two_days_ago, requests=99, tokens=0, errors=0)
    APIKeyUsageDailyFactory(api_key=mine, date=two_days_ago, requests=5, tokens=0, errors=0)
    _get(client, theirs.plaintext)  # live usage today in the other organization
    body = _get(client, mine.plaintext).json()
    assert body == [
        {"date": str(two_days_ago), "requests": 5, "tokens": 0, "errors": 0},
        {"date": str(timezone.now().date()), "requests": 1, "tokens": 0, "errors": 0},
    ]


def test_guessing_keys_queries_the_database_once_per_prefix(django_assert_num_queries):
    from apps.api_keys.cache import load_principal

    guessed_prefix = uuid.uuid4().hex[:12]
    assert load_principal(guessed_prefix) is None
    with django_assert_num_queries(0):
        assert load_principal(guessed_prefix) is None


def test_a_new_key_works_even_if_its_prefix_was_probed_before(client, organization, monkeypatch):
    from apps.api_keys import services
    from apps.api_keys.cache import load_principal

    prefix = uuid.uuid4().hex[:12]
    assert load_principal(prefix) is None  # cached as unknown
    monkeypatch.setattr(services, "_new_prefix", lambda: prefix)
    key = APIKeyFactory(organization=organization)
    assert key.prefix == prefix
    assert _get(client, key.plaintext).status_code == 200


def test_when_redis_is_down_keys_are_refused_with_503_not_admitted(client, organization, settings):
    key = APIKeyFactory(organization=organization)
    dead = "redis://127.0.0.1:1/0"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}}
    settings.REDIS_URL = dead
    response = _get(client, key.plaintext)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_site_admin_can_revoke_keys_from_the_django_admin(client, organization):
    from apps.users.models import User

    staff = User.objects.create_superuser("root@example.com", "pw-long-enough-1")
    client.force_login(staff)
    key = APIKeyFactory(organization=organization)
    client.post("/admin/api_keys/apikey/", {"action": "revoke", "_selected_action": [str(key.pk)]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert _get(client, key.plaintext).status_code == 401


def test_a_key_stops_working_as_soon_as_its_organization_is_deleted(client, organization):
    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext).status_code == 200
    organization.delete()
    assert _get(client, key.plaintext).status_code == 401


def _count_redis_round_trips(monkeypatch):
    """The commands of each round trip to Redis, through the shared client or a thread's hot-path connection."""
    from apps.api_keys import limits
    from common.core import redis as hot

    client = limits.redis_client()
    sent: list[list[str]] = []
    original, original_round_trip = client.execute_command, hot._round_trip

    def counting(*args, **options):
        sent.append([str(args[0])])
        return original(*args, **options)

    def counting_round_trip(connection, commands):
        sent.append([str(command[0]) for command in commands])
        return original_round_trip(connection, commands)

    monkeypatch.setattr(client, "execute_command", counting)
    monkeypatch.setattr(hot, "_round_trip", counting_round_trip)
    return sent


def test_a_key_in_use_is_checked_and_counted_in_one_redis_round_trip_without_the_database(
    client, organization, monkeypatch, django_assert_num_queries
):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=100)
    from apps.api_keys import validators

    # The first loads the row, the second the cached snapshot (both keep it in this process), the third takes the
    # warm path once, so that Redis holds its script even when it is a Redis that has not seen it yet.
    for _ in range(3):
        validators.authenticate_and_admit(key.plaintext, now=timezone.now())
    sent = _count_redis_round_trips(monkeypatch)
    with django_assert_num_queries(0):
        principal, admission = validators.authenticate_and_admit(key.plaintext, now=timezone.now())
    assert sent == [["EVALSHA"]]
    assert principal.id == key.pk and admission.admitted and admission.remaining == 96


def test_a_key_revoked_by_another_web_process_is_refused_on_the_next_request(client, organization):
    """This process still holds the key's snapshot; the revocation happened elsewhere (only Redis saw it)."""
    from apps.api_keys import cache as key_cache

    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext).status_code == 200
    assert _get(client, key.plaintext).status_code == 200
    held = key_cache.warm_principal(key.prefix)
    assert held is not None
    api_key_revoke(organization=organization, actor=Actor.system(organization=organization), api_key_id=key.pk)
    key_cache._remember_warm(key.prefix, *held)  # as if this process had not seen the revocation
    assert _get(client, key.plaintext).status_code == 401


def test_a_wrong_secret_is_refused_even_while_the_right_one_is_held(client, organization):
    key = APIKeyFactory(organization=organization)
    assert _get(client, key.plaintext).status_code == 200
    assert _get(client, key.plaintext).status_code == 200
    wrong = key.plaintext[:-4] + ("AAAA" if not key.plaintext.endswith("AAAA") else "BBBB")
    assert _get(client, wrong).json() == INVALID
    assert _get(client, key.plaintext).status_code == 200


def test_a_held_key_over_its_rate_limit_is_refused_with_429(client, organization):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=3)
    statuses = [_get(client, key.plaintext).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
