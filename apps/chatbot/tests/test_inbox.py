"""The conversations inbox: admins list, filter, search, read and export every conversation of the organization."""

import csv
import io
import json

import pytest
from django.test import Client

from apps.chatbot.models import Conversation, Feedback, Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory
from apps.documents.tests.factories import ChunkFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role=Role.ADMIN):
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def _conversation(bot, question, answer="It is in the handbook [1].", **answer_fields):
    conversation = ConversationFactory(bot=bot, title=question[:40], **answer_fields.pop("conversation", {}))
    MessageFactory(conversation=conversation, role=Message.Role.USER, content=question)
    reply = MessageFactory(conversation=conversation, content=answer, **answer_fields)
    return conversation, reply


def test_admin_lists_filters_and_searches_conversations(organization):
    hr, it = ChatbotFactory(organization=organization, name="HR"), ChatbotFactory(organization=organization, name="IT")
    _conversation(hr, "How many vacation days do I get?")
    _conversation(it, "Where do I park my bicycle?", status=Message.Status.DONT_KNOW)
    _, rated = _conversation(hr, "Who approves sick leave?", conversation={"source": Conversation.Source.WIDGET})
    Feedback.objects.create(organization=organization, message=rated, rating=Feedback.Rating.DOWN)
    client = _client(organization)

    page = client.get("/conversations/").content.decode()
    assert "vacation days" in page and "bicycle" in page and "sick leave" in page
    assert "3 conversations" in page
    only = lambda query: client.get("/conversations/?" + query).content.decode()  # noqa: E731
    assert "bicycle" in only("outcome=dont_know") and "vacation" not in only("outcome=dont_know")
    assert "sick leave" in only("feedback=down") and "bicycle" not in only("feedback=down")
    assert "sick leave" in only("source=widget") and "vacation" not in only("source=widget")
    assert "bicycle" in only(f"bot={it.pk}") and "vacation" not in only(f"bot={it.pk}")
    # Full text: stemmed English words, in questions and answers alike.
    assert "bicycle" in only("q=parking+bicycles") and "vacation" not in only("q=parking+bicycles")
    assert "vacation" in only("q=handbook") and "1 conversation" in only("q=vacation")


def test_members_cannot_open_the_inbox(organization):
    assert _client(organization, Role.MEMBER).get("/conversations/").status_code == 403


def test_the_transcript_shows_citations_with_their_passage_feedback_model_tokens_and_latency(organization):
    bot = ChatbotFactory(organization=organization, name="HR")
    chunk = ChunkFactory(organization=organization, text="Employees get 25 vacation days a year.", page_number=4)
    conversation, answer = _conversation(
        bot,
        "How many vacation days?",
        answer="25 days [1].",
        citations=[
            {
                "marker": 1,
                "document_id": str(chunk.document_id),
                "document_title": "Handbook",
                "page": 4,
                "heading": "Leave",
                "chunk_id": str(chunk.pk),
                "snippet": "Employees get 25…",
                "score": 0.8,
            }
        ],
        model="gpt-test",
        provider_name="OpenAI",
        prompt_tokens=321,
        completion_tokens=12,
        ttft_ms=140,
        total_ms=900,
    )
    Feedback.objects.create(organization=organization, message=answer, rating=Feedback.Rating.UP)
    page = _client(organization).get(f"/conversations/{conversation.pk}/").content.decode()
    assert "Employees get 25 vacation days a year." in page  # the passage itself, not only the snippet
    assert f"/documents/{chunk.document_id}/" in page and "page 4" in page
    assert "gpt-test" in page and "321 + 12 tokens" in page and "first token 140 ms" in page and "total 900 ms" in page
    assert "helpful" in page


def test_another_organizations_conversation_is_not_found(organization, other_organization):
    conversation, _ = _conversation(ChatbotFactory(organization=other_organization), "Secret?")
    client = _client(organization)
    assert client.get(f"/conversations/{conversation.pk}/").status_code == 404
    assert client.get(f"/conversations/{conversation.pk}/export.json").status_code == 404
    assert "Secret" not in client.get("/conversations/").content.decode()


def test_exports_of_the_list_and_of_one_conversation(organization):
    bot = ChatbotFactory(organization=organization, name="HR")
    conversation, _ = _conversation(bot, "=cmd|' /C calc'!A0 vacation?", status=Message.Status.DONT_KNOW)
    _conversation(bot, "Parking?")
    client = _client(organization)

    listed = client.get("/conversations/export.csv?outcome=dont_know")
    assert listed["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(listed.content.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["bot"] == "HR" and rows[0]["dont_know"] == "1"
    assert rows[0]["first_question"].startswith("'=")  # a spreadsheet will not run it
    as_json = json.loads(client.get("/conversations/export.json").content)
    assert len(as_json["conversations"]) == 2

    one = json.loads(client.get(f"/conversations/{conversation.pk}/export.json").content)
    assert [m["seq"] for m in one["messages"]] == [1, 2]
    lines = client.get(f"/conversations/{conversation.pk}/export.csv").content.decode("utf-8-sig")
    messages = list(csv.DictReader(io.StringIO(lines)))
    assert [m["status"] for m in messages] == ["complete", "dont_know"]
