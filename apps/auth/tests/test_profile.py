"""The profile page: the person's name, their password, and "log out everywhere", which ends their other web
sessions as well as their API tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _signed_in(user, password) -> Client:
    client = Client()
    assert client.login(email=user.email, password=password)
    return client


def test_the_profile_page_changes_the_name_and_lists_the_organizations(organization, password):
    user = MembershipFactory(organization=organization, role=Role.MEMBER).user
    user.set_password(password)
    user.save()
    client = _signed_in(user, password)
    page = client.get("/account/").content.decode()
    assert user.email in page and organization.name in page and "/account/password/" in page
    response = client.post("/account/", {"full_name": "Ada Lovelace"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"
    assert client.post("/account/", {"full_name": "Ada\x00"}).status_code == 200  # refused, page says why
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"


def test_log_out_everywhere_ends_the_other_web_sessions_and_keeps_this_one(organization, password):
    user = MembershipFactory(organization=organization, role=Role.MEMBER).user
    user.set_password(password)
    user.save()
    laptop, phone = _signed_in(user, password), _signed_in(user, password)
    assert phone.get("/documents/").status_code == 200
    response = laptop.post("/account/logout-everywhere/")
    assert response.status_code == 302
    assert laptop.get("/documents/").status_code == 200  # this browser stays signed in
    kicked = phone.get("/documents/")
    assert kicked.status_code == 302 and "/login/" in kicked["Location"]


def test_log_out_everywhere_also_ends_api_tokens(organization, password, client):
    user = MembershipFactory(organization=organization, role=Role.MEMBER).user
    user.set_password(password)
    user.save()
    tokens = client.post("/api/v1/auth/login", {"email": user.email, "password": password}).json()
    web = _signed_in(user, password)
    web.post("/account/logout-everywhere/")
    refreshed = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 401
