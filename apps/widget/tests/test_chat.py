"""Chatting in the widget: streamed answers with citations, history, feedback, idempotent sends, bad input."""

from __future__ import annotations

import pytest

from apps.chatbot.models import Conversation, Feedback, Message
from apps.widget.tests.conftest import WidgetBrowser

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor(browser, shop_bot):
    assert browser.open(shop_bot.publishable_key).status_code == 200
    return browser


def test_a_question_streams_the_stored_message_tokens_citations_and_the_answer(visitor):
    response = visitor.send("How many days do I have to return an item?", client_msg_id="m1")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    names = [name for name, _ in response.events]
    assert names[0] == "message" and names[-2:] == ["citations", "done"]
    assert set(names[1:-2]) == {"token"}
    message = response.events[0][1]
    assert (message["role"], message["seq"], message["text"]) == (
        "visitor",
        1,
        "How many days do I have to return an item?",
    )
    citations = response.events[-2][1]["citations"]
    assert citations and citations[0]["document_title"] == "Returns policy"
    assert "30 days" in citations[0]["snippet"]
    assert set(citations[0]) == {"n", "document_title", "page", "snippet", "url"}
    done = response.events[-1][1]
    answer = done["message"]
    assert (answer["role"], answer["seq"], answer["sender_name"]) == ("bot", 2, "Shop helper")
    assert "30 days" in answer["text"]
    assert "".join(data["text"] for name, data in response.events if name == "token").strip() == answer["text"]
    assert done["offer_handoff"] is False
    conversation = Conversation.objects.unscoped().get()
    assert (conversation.source, conversation.visitor_id) == ("widget", visitor.session["visitor"]["id"])


def test_the_history_returns_the_conversation_after_a_seq(visitor):
    visitor.send("How long does shipping take?")
    visitor.send("And express shipping?")
    body = visitor.get("/widget/v1/conversation").json()
    assert body["conversation"]["state"] == "bot" and body["conversation"]["last_seq"] == 4
    assert [m["seq"] for m in body["messages"]] == [1, 2, 3, 4]
    assert [m["seq"] for m in visitor.get("/widget/v1/conversation", after=2).json()["messages"]] == [3, 4]


def test_a_visitor_with_no_conversation_gets_an_empty_history(visitor):
    assert visitor.get("/widget/v1/conversation").json() == {"conversation": None, "messages": []}


def test_the_bot_reads_the_earlier_turns_of_the_widget_conversation(visitor):
    visitor.send("How long does shipping take?")
    second = visitor.send("What does express cost?")
    assert second.events[-1][1]["message"]["seq"] == 4


def test_a_resent_client_msg_id_is_stored_and_answered_once(visitor):
    first = visitor.send("How do refunds work?", client_msg_id="same")
    again = visitor.send("How do refunds work?", client_msg_id="same")
    assert [name for name, _ in again.events] == ["message", "done"]
    assert again.events[0][1]["id"] == first.events[0][1]["id"]
    assert again.events[1][1]["duplicate"] is True
    assert again.events[1][1]["message"]["id"] == first.events[-1][1]["message"]["id"]
    assert Message.objects.unscoped().count() == 2


def test_a_dont_know_answer_offers_a_person_when_the_bot_hands_over(visitor):
    done = visitor.send("What is the airspeed velocity of an unladen swallow?").events[-1][1]
    assert done["message"]["text"] == "I don't know that one."
    assert done["offer_handoff"] is True


@pytest.mark.parametrize(("text", "field"), [("x" * 2001, "text"), ("   ", "text")], ids=["too-long", "empty"])
def test_a_refused_message_is_a_400_and_nothing_is_stored(visitor, text, field):
    response = visitor.send(text)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]
    assert not Message.objects.unscoped().exists()


def test_feedback_with_a_comment_is_kept_on_the_answer(visitor):
    answer = visitor.send("How do returns work?").events[-1][1]["message"]
    response = visitor.post(f"/widget/v1/messages/{answer['id']}/feedback", {"rating": "down", "comment": "Too vague"})
    assert response.status_code == 200, response.content
    assert response.json() == {"message_id": answer["id"], "rating": "down", "comment": "Too vague"}
    feedback = Feedback.objects.unscoped().get()
    assert (feedback.rating, feedback.comment) == ("down", "Too vague")
    assert visitor.get("/widget/v1/conversation").json()["messages"][1]["feedback"] == "down"


def test_feedback_on_another_visitors_answer_is_404(visitor, shop_bot):
    answer = visitor.send("How do returns work?").events[-1][1]["message"]
    other = WidgetBrowser()
    other.open(shop_bot.publishable_key)
    response = other.post(f"/widget/v1/messages/{answer['id']}/feedback", {"rating": "up"})
    assert response.status_code == 404
    assert not Feedback.objects.unscoped().exists()
