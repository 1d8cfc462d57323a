"""The rooms page: members only; it lists the people and bots to start a room with and loads the client."""

import pytest
from django.test import Client

from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_member_gets_the_rooms_page_with_people_and_bots_of_the_organization(organization, other_organization):
    me = MembershipFactory(organization=organization, role=Role.MEMBER)
    colleague = MembershipFactory(organization=organization, user__full_name="Grace Hopper")
    stranger = MembershipFactory(organization=other_organization, user__full_name="Someone Else")
    bot = ChatbotFactory(organization=organization, name="Handbook")
    client = Client()
    client.force_login(me.user)
    page = client.get("/rooms/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="user:{colleague.user_id}">Grace Hopper' in html
    assert f'value="bot:{bot.pk}">Handbook (bot)' in html
    assert "Someone Else" not in html and str(stranger.user_id) not in html
    assert 'src="/static/js/rooms.js"' in html
    assert 'href="/rooms/"' in html


def test_the_rooms_page_asks_a_visitor_to_sign_in():
    page = Client().get("/rooms/")
    assert page.status_code == 302 and "/login" in page["Location"]


def test_a_member_gets_the_handoff_inbox_in_the_navigation(organization):
    me = MembershipFactory(organization=organization, role=Role.MEMBER)
    client = Client()
    client.force_login(me.user)
    page = client.get("/handoffs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-org="{organization.pk}"' in html and f'data-me="{me.user_id}"' in html
    assert 'src="/static/js/handoffs.js"' in html
    assert '<a href="/handoffs/" class="active" aria-current="page">Handoffs</a>' in html


def test_the_handoff_inbox_asks_a_visitor_to_sign_in():
    response = Client().get("/handoffs/")
    assert response.status_code == 302 and "/login/" in response["Location"]
