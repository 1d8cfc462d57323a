"""Weak passwords are refused wherever a password is chosen: sign-up (API and page) and password change."""

import pytest
from rest_framework.test import APIClient

from apps.users.models import User

pytestmark = pytest.mark.django_db
WEAK = ["aaaaaaaaaaaa", "abcabcabcabc", "abcdefghijkl", "121212121212", "zzzzzzzzzzzzzzzzzzzz", "9876543210987"]


@pytest.mark.parametrize("password", WEAK)
def test_signing_up_with_a_low_entropy_password_is_refused(anon_client, password):
    response = anon_client.post(
        "/api/v1/auth/signup", {"email": "weak@example.com", "password": password}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["password"]
    assert not User.objects.filter(email="weak@example.com").exists()


def test_changing_to_a_low_entropy_password_is_refused(user, password):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(
        "/api/v1/auth/password/change", {"current_password": password, "new_password": "aaaaaaaaaaaa"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["new_password"]
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.parametrize("password", ["a-long-and-unusual-passphrase-42", "correct horse battery staple"])
def test_a_varied_password_is_accepted(anon_client, password):
    response = anon_client.post(
        "/api/v1/auth/signup", {"email": "fine@example.com", "password": password}, format="json"
    )
    assert response.status_code == 201, response.content


def test_the_signup_page_refuses_a_low_entropy_password(client):
    response = client.post("/signup/", {"email": "weak@example.com", "password": "aaaaaaaaaaaa"})
    assert response.status_code == 200
    assert "too few different characters" in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()
