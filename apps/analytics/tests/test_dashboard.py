"""The dashboard shows the organization's real numbers: documents, chunks, the week's conversations, the
"don't know" rate, and the failed documents that need attention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.chatbot.models import Conversation, Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory
from apps.documents.models import DocumentStatus
from apps.documents.tests.factories import CollectionFactory, DocumentFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _page(organization, role=Role.ADMIN) -> str:
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _stat(page: str, label: str) -> str:
    before = page.split(label, 1)[0]
    return before.rsplit('<span class="stat-value">', 1)[1].split("</span>", 1)[0]


def test_the_dashboard_counts_documents_chunks_conversations_and_dont_knows(organization, other_organization):
    collection = CollectionFactory(organization=organization)
    DocumentFactory(collection=collection, status=DocumentStatus.READY, chunk_count=12)
    DocumentFactory(collection=collection, status=DocumentStatus.READY, chunk_count=30)
    DocumentFactory(
        collection=collection, title="Scan", status=DocumentStatus.FAILED, error_message="No text; run OCR."
    )
    DocumentFactory(collection=CollectionFactory(organization=other_organization), chunk_count=999)
    bot = ChatbotFactory(organization=organization)
    for status in (Message.Status.COMPLETE, Message.Status.COMPLETE, Message.Status.COMPLETE, Message.Status.DONT_KNOW):
        MessageFactory(conversation=ConversationFactory(bot=bot), status=status)
    old = ConversationFactory(bot=bot)
    Conversation.objects.for_org(organization).filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))

    page = _page(organization)
    assert _stat(page, "documents (2 ready)") == "3"
    assert _stat(page, "searchable chunks") == "42"
    assert _stat(page, "conversations in the last 7 days") == "4"
    assert _stat(page, "“don't know” answers") == "25%"
    assert _stat(page, "failed document") == "1"
    assert "Needs attention" in page and "Scan" in page and "No text; run OCR." in page


def test_a_new_organization_sees_zeros_and_no_rate(organization):
    page = _page(organization, Role.MEMBER)
    assert _stat(page, "documents (0 ready)") == "0"
    assert _stat(page, "“don't know” answers") == "—"
    assert "Needs attention" not in page
    assert 'href="/conversations/"' not in page.split("<main>", 1)[1]  # members have no inbox
