"""The widget's actions on the bot page: an admin makes an identity secret (shown once) or a new publishable
key; members may not."""

import pytest
from django.test import Client

from apps.chatbot.models import Chatbot
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role):
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_an_admin_makes_an_identity_secret_and_sees_it_once(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    client = _client(organization, Role.ADMIN)
    assert "Create an identity secret" in client.get(f"/bots/{bot.pk}/").content.decode()
    response = client.post(f"/bots/{bot.pk}/widget/identity-secret/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = Chatbot.objects.for_org(organization).get(pk=bot.pk).identity_secret
    assert secret.startswith("wis_") and secret in response.content.decode()
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert secret not in page
    assert "New identity secret" in page and "set (shown only when it was made)" in page


def test_an_admin_makes_a_new_publishable_key_and_the_snippet_follows(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    old = bot.publishable_key
    client = _client(organization, Role.ADMIN)
    response = client.post(f"/bots/{bot.pk}/widget/publishable-key/")
    assert response.status_code == 302
    new = Chatbot.objects.for_org(organization).get(pk=bot.pk).publishable_key
    assert new != old
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert f'data-bot="{new}"' in page and old not in page


@pytest.mark.parametrize("action", ["identity-secret", "publishable-key"])
def test_a_member_cannot_change_the_widget_keys(organization, action):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    response = _client(organization, Role.MEMBER).post(f"/bots/{bot.pk}/widget/{action}/")
    assert response.status_code == 403
    after = Chatbot.objects.for_org(organization).get(pk=bot.pk)
    assert after.publishable_key == bot.publishable_key and after.identity_secret == ""
