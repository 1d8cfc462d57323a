"""A JWT this process already verified is not decoded again, and still expires and is still checked every request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import aware_utcnow

from apps.organizations.tests.factories import MembershipFactory
from apps.users import authentication
from apps.users.services import user_issue_tokens, user_revoke_all_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def decodes(monkeypatch) -> list[object]:
    seen: list[object] = []
    original = TokenBackend.decode

    def counting(self, token, verify=True):
        seen.append(token)
        return original(self, token, verify=verify)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    return seen


@pytest.fixture
def membership():
    return MembershipFactory()


@pytest.fixture
def client(membership) -> APIClient:
    """A member's client with a fresh access token, naming the organization."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {user_issue_tokens(user=membership.user)['access']}",
        HTTP_X_ORGANIZATION=str(membership.organization.pk),
    )
    return client


def test_a_token_used_again_is_not_decoded_again(client, decodes):
    assert client.get("/api/v1/bots").status_code == 200
    assert client.get("/api/v1/bots").status_code == 200
    assert len(decodes) == 1


def test_a_kept_token_is_still_refused_after_log_out_everywhere(client, membership, decodes):
    assert client.get("/api/v1/bots").status_code == 200
    user_revoke_all_tokens(user=membership.user)
    assert client.get("/api/v1/bots").status_code == 401


def test_a_kept_token_that_has_expired_since_is_not_served_from_what_was_kept(monkeypatch):
    token = AccessToken()
    token["user_id"] = "someone"
    raw = str(token).encode()
    authentication._remember_verified(raw, token)
    assert authentication._verified_again(raw) is not None
    later = aware_utcnow() + AccessToken.lifetime + timedelta(seconds=1)
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    assert authentication._verified_again(raw) is None
    assert raw not in authentication._verified


def test_only_so_many_verified_tokens_are_kept(monkeypatch):
    monkeypatch.setattr(authentication, "VERIFIED_TOKENS_KEPT", 2)
    tokens = [AccessToken() for _ in range(3)]
    for token in tokens:
        authentication._remember_verified(str(token).encode(), token)
    assert str(tokens[0]).encode() not in authentication._verified
    assert all(str(token).encode() in authentication._verified for token in tokens[1:])
