"""The analytics page: admins see the figures of a date range, drawn from JSON the page carries."""

import json
import re

import pytest
from django.test import Client

from apps.chatbot.models import Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role=Role.ADMIN):
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_admin_sees_summary_per_bot_figures_missing_content_and_chart_data(organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization, name="HR bot"))
    MessageFactory(conversation=conversation, role=Message.Role.USER, content="Where is the parking?")
    MessageFactory(conversation=conversation, status=Message.Status.DONT_KNOW, ttft_ms=120, total_ms=800)
    page = _client(organization).get("/analytics/?days=7").content.decode()
    assert "HR bot" in page and "Where is the parking?" in page
    data = json.loads(re.search(r'<script id="analytics-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert len(data["volume"]) == 7 and data["volume"][-1]["questions"] == 1
    assert data["latency"][-1]["ttft_p50"] == 120
    assert "vendor/chart-4.6.1.umd.min.js" in page


def test_members_cannot_open_analytics(organization):
    assert _client(organization, Role.MEMBER).get("/analytics/").status_code == 403
