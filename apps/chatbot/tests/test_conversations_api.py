"""Conversations: list by bot, detail, cursor-paginated messages, feedback, JSON export."""

import pytest

from apps.chatbot.models import Feedback, Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/conversations"


@pytest.fixture
def conversation(organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization), title="Vacation")
    for index in range(5):
        MessageFactory(conversation=conversation, role="user", content=f"question {index}")
        MessageFactory(conversation=conversation, role="assistant", content=f"answer {index} [1]")
    return conversation


def test_members_list_conversations_filtered_by_bot(member_client, organization, conversation):
    ConversationFactory(bot=ChatbotFactory(organization=organization))
    assert len(member_client.get(URL).json()["results"]) == 2
    filtered = member_client.get(URL, {"bot": str(conversation.bot_id)}).json()["results"]
    assert [c["id"] for c in filtered] == [str(conversation.id)]
    assert member_client.get(URL, {"bot": "nope"}).status_code == 400


def test_conversation_detail(member_client, conversation):
    body = member_client.get(f"{URL}/{conversation.id}").json()
    assert body["title"] == "Vacation"
    assert body["bot"] == str(conversation.bot_id)


def test_messages_come_oldest_first_in_cursor_pages(member_client, conversation):
    first = member_client.get(f"{URL}/{conversation.id}/messages", {"page_size": 4}).json()
    assert [m["content"] for m in first["results"]] == ["question 0", "answer 0 [1]", "question 1", "answer 1 [1]"]
    assert first["next"]
    second = member_client.get(first["next"]).json()
    assert next(m["content"] for m in second["results"]) == "question 2"
    assert "cursor=" in first["next"]


def test_another_organizations_conversation_is_not_found(member_client, other_organization):
    foreign = ConversationFactory(bot=ChatbotFactory(organization=other_organization))
    foreign_message = MessageFactory(conversation=foreign)
    assert member_client.get(f"{URL}/{foreign.id}").status_code == 404
    assert member_client.get(f"{URL}/{foreign.id}/messages").status_code == 404
    assert member_client.get(f"{URL}/{foreign.id}/export").status_code == 404
    response = member_client.post(f"/api/v1/messages/{foreign_message.id}/feedback", {"rating": "up"})
    assert response.status_code == 404
    assert member_client.get(URL).json()["results"] == []


def test_thumbs_down_with_a_comment_is_saved_and_can_be_changed(member_client, conversation):
    answer = Message.objects.unscoped().filter(conversation=conversation, role="assistant").first()
    url = f"/api/v1/messages/{answer.id}/feedback"
    response = member_client.post(url, {"rating": "down", "comment": "Wrong page cited."})
    assert response.status_code == 201
    assert response.json()["rating"] == "down"
    member_client.post(url, {"rating": "up"})
    feedback = Feedback.objects.unscoped().get(message=answer)
    assert feedback.rating == "up"
    assert Feedback.objects.unscoped().count() == 1


def test_feedback_needs_a_valid_rating_on_an_answer(member_client, conversation):
    answer = Message.objects.unscoped().filter(conversation=conversation, role="assistant").first()
    question = Message.objects.unscoped().filter(conversation=conversation, role="user").first()
    assert member_client.post(f"/api/v1/messages/{answer.id}/feedback", {"rating": "meh"}).status_code == 400
    assert member_client.post(f"/api/v1/messages/{question.id}/feedback", {"rating": "up"}).status_code == 400


def test_export_returns_the_whole_conversation_as_json(member_client, conversation):
    answer = Message.objects.unscoped().filter(conversation=conversation, role="assistant").first()
    member_client.post(f"/api/v1/messages/{answer.id}/feedback", {"rating": "up"})
    response = member_client.get(f"{URL}/{conversation.id}/export")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.json()
    assert body["conversation"]["id"] == str(conversation.id)
    assert len(body["messages"]) == 10
    assert body["messages"][0]["content"] == "question 0"
    assert any(m["feedback"] == {"rating": "up", "comment": ""} for m in body["messages"])
