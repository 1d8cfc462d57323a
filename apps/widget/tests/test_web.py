"""The bot page's widget key actions: admins only, the identity secret shown once."""

from __future__ import annotations

import pytest

from apps.chatbot.models import Chatbot
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _signed_in(client, organization, role):
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_an_admin_makes_a_new_identity_secret_and_sees_it_once(client, organization, shop_bot):
    _signed_in(client, organization, Role.ADMIN)
    page = client.post(f"/bots/{shop_bot.pk}/widget/identity-secret/")
    assert page.status_code == 200
    stored = Chatbot.objects.unscoped().get(pk=shop_bot.pk).identity_secret
    assert stored.startswith("wis_") and stored.encode() in page.content
    assert page["Cache-Control"] == "no-store"
    assert stored.encode() not in client.get(f"/bots/{shop_bot.pk}/").content


def test_an_admin_rotates_the_publishable_key_from_the_bot_page(client, organization, shop_bot):
    _signed_in(client, organization, Role.ADMIN)
    response = client.post(f"/bots/{shop_bot.pk}/widget/publishable-key/")
    assert response.status_code == 302
    assert Chatbot.objects.unscoped().get(pk=shop_bot.pk).publishable_key != shop_bot.publishable_key


def test_a_member_cannot_rotate_the_widget_keys(client, organization, shop_bot):
    _signed_in(client, organization, Role.MEMBER)
    assert client.post(f"/bots/{shop_bot.pk}/widget/identity-secret/").status_code == 403
    assert client.post(f"/bots/{shop_bot.pk}/widget/publishable-key/").status_code == 403
    assert Chatbot.objects.unscoped().get(pk=shop_bot.pk).identity_secret == ""
