"""The per-IP sign-in limit keys on the real client: X-Forwarded-For counts only from a configured proxy."""

import pytest

from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_logins_per_ip(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_ip": "3/min"},
    }


def _login(client, email, password, *, remote, forwarded):
    return client.post(
        "/api/v1/auth/login",
        {"email": email, "password": password},
        format="json",
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_a_client_on_loopback_cannot_escape_the_sign_in_limit_with_x_forwarded_for(
    anon_client, password, three_logins_per_ip, settings
):
    assert settings.TRUSTED_PROXY_IPS == []  # the default: no proxy is trusted
    users = UserFactory.create_batch(4)
    statuses = [
        _login(anon_client, u.email, password, remote="127.0.0.1", forwarded=f"203.0.113.{n}").status_code
        for n, u in enumerate(users)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit(
    anon_client, password, three_logins_per_ip, settings
):
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/24"]
    users = UserFactory.create_batch(5)
    first = [
        _login(anon_client, u.email, password, remote="10.0.0.5", forwarded="198.51.100.7").status_code
        for u in users[:4]
    ]
    assert first == [200, 200, 200, 429]
    # Another client behind the same proxy; a hop the client forged on the left is ignored.
    other = _login(anon_client, users[4].email, password, remote="10.0.0.6", forwarded="198.51.100.7, 198.51.100.8")
    assert other.status_code == 200


def test_a_client_not_behind_the_trusted_proxy_cannot_name_another_address(
    anon_client, password, three_logins_per_ip, settings
):
    settings.TRUSTED_PROXY_IPS = ["10.0.0.5"]
    users = UserFactory.create_batch(4)
    statuses = [
        _login(anon_client, u.email, password, remote="192.0.2.10", forwarded=f"203.0.113.{n}").status_code
        for n, u in enumerate(users)
    ]
    assert statuses == [200, 200, 200, 429]
