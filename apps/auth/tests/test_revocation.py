"""'Log out everywhere' and password changes end every token issued before them, even in the same second."""

from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

import pytest
from rest_framework.test import APIClient

from apps.users import services as user_services

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def one_second():
    """Every token and the revocation itself happen within one wall-clock second."""
    instant = datetime.now(UTC).replace(microsecond=500_000)
    with (
        mock.patch("rest_framework_simplejwt.tokens.aware_utcnow", return_value=instant),
        mock.patch.object(user_services, "timezone", SimpleNamespace(now=lambda: instant)),
    ):
        yield instant


def _login(client, email, password):
    response = client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/v1/me")


def _bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _refresh(client, refresh):
    return client.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json")


def test_logout_everywhere_signs_out_devices_that_signed_in_the_same_second(anon_client, user, password, one_second):
    devices = [_login(anon_client, user.email, password) for _ in range(4)]
    refreshed = _refresh(anon_client, devices[3]["refresh"]).json()  # a device that refreshed meanwhile
    assert all(_me(d["access"]).status_code == 200 for d in [*devices, refreshed])

    assert _bearer(devices[0]["access"]).post("/api/v1/auth/logout-all").status_code == 200

    for device in [*devices, refreshed]:
        response = _me(device["access"])
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_failed"
        assert _refresh(anon_client, device["refresh"]).status_code == 401
    # Signing in again, still in that second, works.
    again = _login(anon_client, user.email, password)
    assert _me(again["access"]).status_code == 200
    assert _me(_refresh(anon_client, again["refresh"]).json()["access"]).status_code == 200


def test_a_password_change_signs_out_devices_that_signed_in_the_same_second(anon_client, user, password, one_second):
    devices = [_login(anon_client, user.email, password) for _ in range(3)]
    changed = _bearer(devices[0]["access"]).post(
        "/api/v1/auth/password/change", {"current_password": password, "new_password": NEW_PASSWORD}, format="json"
    )
    assert changed.status_code == 200, changed.content

    assert [_me(d["access"]).status_code for d in devices] == [401, 401, 401]
    assert [_refresh(anon_client, d["refresh"]).status_code for d in devices] == [401, 401, 401]
    # The pair the change returned keeps this device signed in.
    assert _me(changed.json()["access"]).status_code == 200
    assert _refresh(anon_client, changed.json()["refresh"]).status_code == 200
