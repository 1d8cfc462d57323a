"""List endpoints cost the same number of queries for one row as for many (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api_keys.models import APIKey
from apps.chatbot.models import Chatbot, Conversation
from apps.chatbot_provider.models import ChatbotProvider
from apps.documents.models import Collection, Document
from apps.organizations.models import Invitation, Membership
from apps.organizations.tests.isolation import discover_factories

LISTS = [
    ("/api/v1/collections", Collection),
    ("/api/v1/documents", Document),
    ("/api/v1/bots", Chatbot),
    ("/api/v1/conversations", Conversation),
    ("/api/v1/providers", ChatbotProvider),
    ("/api/v1/api-keys", APIKey),
    ("/api/v1/members", Membership),
    ("/api/v1/invitations", Invitation),
]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "model"), LISTS, ids=[url for url, _ in LISTS])
def test_a_list_costs_the_same_queries_for_one_row_as_for_six(owner_client, organization, url, model):
    make = discover_factories()[model]
    while model.objects.for_org(organization).count() < 1:
        make(organization=organization)
    one = _queries(owner_client, url)
    while model.objects.for_org(organization).count() < 6:
        make(organization=organization)
    assert _queries(owner_client, url) == one
