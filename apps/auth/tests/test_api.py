from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from apps.auth.models import EmailVerificationToken, PasswordResetToken
from apps.auth.tests.helpers import link_token
from apps.organizations.models import Membership, Role
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
STRONG = "a-long-and-unusual-passphrase-42"


def signup(client, HTTP_X_FORWARDED_FOR=None, **overrides):
    body = {"email": "Ada@Example.com", "password": STRONG, "full_name": "Ada", "organization_name": "Analytical"}
    extra = {"HTTP_X_FORWARDED_FOR": HTTP_X_FORWARDED_FOR} if HTTP_X_FORWARDED_FOR else {}
    return client.post("/api/v1/auth/signup", {**body, **overrides}, format="json", **extra)


def login(client, email, password, ip="10.0.0.1"):
    return client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_signup_creates_the_account_and_an_organization_it_owns(anon_client):
    response = signup(anon_client)
    assert response.status_code == 201, response.json()
    body = response.json()
    user = User.objects.get(email="ada@example.com")
    membership = Membership.objects.unscoped().get(user=user)
    assert membership.role == Role.OWNER
    assert membership.organization.name == "Analytical"
    assert body["user"]["organizations"][0]["role"] == "owner"
    me = bearer(body["access"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["email_verified"] is False


def test_signup_sends_a_verification_link_that_confirms_the_email_once(anon_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signup(anon_client)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert settings.SITE_URL in mail.outbox[0].body
    token = link_token("verify-email")
    assert not EmailVerificationToken.objects.filter(token_hash=token).exists()  # only the hash is stored

    assert anon_client.post("/api/v1/auth/verify-email", {"token": token}, format="json").status_code == 200
    assert User.objects.get(email="ada@example.com").email_verified_at is not None
    again = anon_client.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"


def test_signup_refuses_an_email_that_differs_only_by_case(anon_client):
    UserFactory(email="ada@example.com")
    response = signup(anon_client, email="ADA@example.COM")
    assert response.status_code == 400
    assert "email" in response.json()["error"]["details"]


def test_signup_refuses_a_weak_password_with_field_details(anon_client):
    response = signup(anon_client, password="password")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["password"]
    assert not User.objects.exists()


def test_signup_is_throttled_per_ip(anon_client):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["signup"].split("/")[0])
    for n in range(limit):
        assert signup(anon_client, email=f"u{n}@example.com").status_code == 201
    response = signup(anon_client, email="one-more@example.com")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in response


def test_login_returns_a_token_pair_and_the_email_is_case_insensitive(anon_client, user, password):
    response = login(anon_client, user.email.upper(), password)
    assert response.status_code == 200
    body = response.json()
    assert {"access", "refresh", "user"} <= set(body)
    assert bearer(body["access"]).get("/api/v1/me").json()["id"] == str(user.id)


def test_login_with_a_wrong_password_answers_401(anon_client, user):
    response = login(anon_client, user.email, "not-the-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_an_inactive_account_cannot_sign_in(anon_client, user, password):
    user.is_active = False
    user.save()
    assert login(anon_client, user.email, password).status_code == 401


def test_login_is_throttled_per_account_with_a_clear_429(anon_client, user, password, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_account": "3/min"},
    }
    for n in range(3):
        assert login(anon_client, user.email, "wrong", ip=f"10.0.1.{n}").status_code == 401
    response = login(anon_client, user.email, password, ip="10.0.1.99")  # even the right password, from elsewhere
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "too_many_login_attempts"
    assert "Too many sign-in attempts" in error["message"]
    assert int(response["Retry-After"]) > 0
    other = UserFactory()
    assert login(anon_client, other.email, password, ip="10.0.1.99").status_code == 200


def _cache_keys() -> list[str]:
    from django.core.cache import cache

    store = cache._cache  # type: ignore[attr-defined]
    if hasattr(store, "get_client"):  # Redis: this test process's keys only
        return [key.decode() for key in store.get_client().scan_iter(f"{cache.key_prefix}*", count=1000)]
    return [str(key) for key in store]


def test_the_sign_in_limit_keeps_no_email_address_in_the_cache(anon_client, user):
    from django.core.cache import cache

    cache.clear()
    for n in range(2):
        assert login(anon_client, user.email, "wrong", ip=f"10.0.2.{n}").status_code == 401
    keys = _cache_keys()
    assert any("login_account" in key for key in keys), keys
    local_part = user.email.split("@")[0].lower()
    assert not [key for key in keys if local_part in key.lower() or "@" in key]


def test_login_is_throttled_per_ip(anon_client, password, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_ip": "3/min"},
    }
    users = UserFactory.create_batch(4)
    for u in users[:3]:
        assert login(anon_client, u.email, password, ip="10.0.2.1").status_code == 200
    assert login(anon_client, users[3].email, password, ip="10.0.2.1").status_code == 429
    assert login(anon_client, users[3].email, password, ip="10.0.2.2").status_code == 200


def test_refresh_rotates_and_the_used_refresh_token_stops_working(anon_client, user, password):
    tokens = login(anon_client, user.email, password).json()
    first = anon_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]
    replay = anon_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_token"
    assert "refresh" in replay.json()["error"]["details"]


def test_logout_revokes_that_refresh_token(anon_client, user, password):
    tokens = login(anon_client, user.email, password).json()
    assert anon_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert anon_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    again = anon_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 400


def test_logout_everywhere_revokes_every_refresh_token(anon_client, user, password):
    laptop = login(anon_client, user.email, password).json()
    phone = login(anon_client, user.email, password).json()
    response = bearer(laptop["access"]).post("/api/v1/auth/logout-all")
    assert response.status_code == 200
    assert response.json()["revoked"] >= 2
    for device in (laptop, phone):
        assert (
            anon_client.post("/api/v1/auth/refresh", {"refresh": device["refresh"]}, format="json").status_code == 401
        )


def test_password_reset_request_answers_202_whether_or_not_the_account_exists(
    anon_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        unknown = anon_client.post("/api/v1/auth/password/reset", {"email": "nobody@example.com"}, format="json")
        known = anon_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_password_reset_sets_the_password_once_and_revokes_refresh_tokens(
    anon_client, user, password, django_capture_on_commit_callbacks
):
    old = login(anon_client, user.email, password).json()
    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    token = link_token("password-reset")
    assert PasswordResetToken.objects.filter(user=user).count() == 1
    assert not PasswordResetToken.objects.filter(token_hash=token).exists()

    body = {"token": token, "new_password": STRONG}
    assert anon_client.post("/api/v1/auth/password/reset/confirm", body, format="json").status_code == 200
    assert login(anon_client, user.email, STRONG).status_code == 200
    assert login(anon_client, user.email, password).status_code == 401
    assert anon_client.post("/api/v1/auth/refresh", {"refresh": old["refresh"]}, format="json").status_code == 401

    reused = anon_client.post("/api/v1/auth/password/reset/confirm", body, format="json")
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "invalid_token"
    assert "token" in reused.json()["error"]["details"]


def test_an_expired_reset_link_is_refused(anon_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    token = link_token("password-reset")
    PasswordResetToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = anon_client.post(
        "/api/v1/auth/password/reset/confirm", {"token": token, "new_password": STRONG}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_reset_link_expires_after_an_hour(anon_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    row = PasswordResetToken.objects.get(user=user)
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(hours=1)


def test_password_reset_is_throttled(anon_client):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password_reset"].split("/")[0])
    for _ in range(limit):
        assert (
            anon_client.post("/api/v1/auth/password/reset", {"email": "x@example.com"}, format="json").status_code
            == 202
        )
    response = anon_client.post("/api/v1/auth/password/reset", {"email": "x@example.com"}, format="json")
    assert response.status_code == 429


def test_change_password_needs_the_current_one_and_revokes_other_devices(anon_client, user, password):
    other_device = login(anon_client, user.email, password).json()
    client = bearer(login(anon_client, user.email, password).json()["access"])
    wrong = client.post(
        "/api/v1/auth/password/change", {"current_password": "nope", "new_password": STRONG}, format="json"
    )
    assert wrong.status_code == 400
    assert "current_password" in wrong.json()["error"]["details"]

    ok = client.post(
        "/api/v1/auth/password/change", {"current_password": password, "new_password": STRONG}, format="json"
    )
    assert ok.status_code == 200
    assert {"access", "refresh"} <= set(ok.json())
    refresh = anon_client.post("/api/v1/auth/refresh", {"refresh": other_device["refresh"]}, format="json")
    assert refresh.status_code == 401
    assert login(anon_client, user.email, STRONG).status_code == 200


def test_verification_email_can_be_resent(anon_client, user, password, django_capture_on_commit_callbacks):
    client = bearer(login(anon_client, user.email, password).json()["access"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/auth/verify-email/resend")
    assert response.status_code == 202
    assert len(mail.outbox) == 1
    assert (
        client.post("/api/v1/auth/verify-email", {"token": link_token("verify-email")}, format="json").status_code
        == 200
    )


def test_a_forged_x_forwarded_for_does_not_escape_the_signup_throttle(anon_client):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["signup"].split("/")[0])
    for n in range(limit):
        assert (
            signup(anon_client, email=f"xff{n}@example.com", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 201
        )
    response = anon_client.post(
        "/api/v1/auth/signup",
        {"email": "xff-more@example.com", "password": STRONG},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 429


def test_logout_everywhere_also_ends_access_tokens_already_issued(anon_client, user, password):
    laptop = login(anon_client, user.email, password).json()
    assert bearer(laptop["access"]).post("/api/v1/auth/logout-all").status_code == 200
    response = bearer(laptop["access"]).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    fresh = login(anon_client, user.email, password).json()
    assert bearer(fresh["access"]).get("/api/v1/me").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_never_get_more_tries_than_the_account_limit(user, settings, redis_url):
    from concurrent.futures import ThreadPoolExecutor

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_account": "5/min"},
    }

    def attempt(n: int) -> int:
        return login(APIClient(), user.email, "wrong-password", ip=f"10.0.3.{n}").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(attempt, range(24)))
    assert codes.count(401) == 5  # exactly the limit was checked against the password
    assert codes.count(429) == 19


def test_a_successful_sign_in_does_not_use_up_the_accounts_failure_allowance(anon_client, user, password, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_account": "2/min"},
    }
    for n in range(3):
        assert login(anon_client, user.email, password, ip=f"10.0.4.{n}").status_code == 200
    assert login(anon_client, user.email, "wrong", ip="10.0.4.9").status_code == 401
