"""The playground (a bot's test chat): answers kept as web conversations, rendered as safe Markdown with
their evidence (scores, citations, plan, timings, provider and fallback), feedback, and other settings tried
for one answer without being saved."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.chatbot.models import Conversation, Feedback, Message
from apps.chatbot.services import bots as bot_services
from apps.chatbot.tests.factories import ChatbotFactory, MessageFactory
from apps.chatbot.tests.test_chat_api import parse_sse
from apps.chatbot_provider.tests.loopback import Behaviour
from apps.documents.services.documents import collection_create, document_create_from_text
from apps.organizations.actors import Actor
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

HANDBOOK = """Employee handbook

Vacation. Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.

Office hours. The office opens at 8 am and closes at 6 pm on weekdays.

Parking. Staff park in the north lot; visitors use the south lot.
"""
QUESTION = "How many vacation days do employees get?"


def _signed_in(organization, role=Role.ADMIN):
    membership = MembershipFactory(organization=organization, role=role)
    client = Client()
    client.force_login(membership.user)
    return client, membership.user


@pytest.fixture
def bot(organization, django_capture_on_commit_callbacks):
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    actor = Actor.for_user(owner).in_organization(organization)
    with django_capture_on_commit_callbacks(execute=True):
        collection = collection_create(organization=organization, actor=actor, name="Handbook")
        document_create_from_text(collection=collection, actor=actor, title="Employee handbook", text=HANDBOOK)
    return bot_services.bot_create(
        organization=organization, actor=actor, name="HR bot", collections=[collection.pk], top_k=4
    )


def _ask(client, bot, question=QUESTION, **fields):
    response = client.post(f"/bots/{bot.pk}/chat/ask/", {"message": question, **fields})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/event-stream"
    return parse_sse(response)


def test_an_answer_is_kept_as_a_web_conversation_with_its_evidence(organization, bot):
    client, user = _signed_in(organization)
    events = _ask(client, bot)
    done = events[-1][1]
    conversation = Conversation.objects.for_org(organization).get(pk=done["conversation_id"])
    assert (conversation.source, conversation.user, conversation.bot) == ("web", user, bot)
    answer = Message.objects.for_org(organization).get(pk=done["message_id"])
    evidence = answer.evidence
    assert evidence["plan"] and evidence["settings"]["top_k"] == 4 and evidence["settings"]["overridden"] == []
    assert evidence["attempts"] == [{"provider": "Offline", "model": answer.model, "error": ""}]
    vacation = next(p for p in evidence["passages"] if p["document_title"] == "Employee handbook" and p["cited"])
    assert vacation["marker"] == 1 and vacation["vector_score"] is not None and vacation["score"] is not None

    rendered = client.get(f"/bots/{bot.pk}/chat/messages/{answer.pk}/").content.decode()
    assert "25 days of paid vacation" in rendered
    assert "Evidence: " in rendered and '<th scope="col" class="num">Vector</th>' in rendered
    assert '<span class="badge ready">cited</span>' in rendered
    assert "answered by Offline" in rendered and '<span class="ok">answered</span>' in rendered


def test_the_playground_lists_and_reopens_the_users_own_test_conversations(organization, bot):
    client, _user = _signed_in(organization)
    conversation_id = _ask(client, bot)[-1][1]["conversation_id"]
    _ask(client, bot, "And who approves them?", conversation=conversation_id)
    page = client.get(f"/bots/{bot.pk}/chat/").content.decode()
    assert f'href="?conversation={conversation_id}"' in page and QUESTION in page
    reopened = client.get(f"/bots/{bot.pk}/chat/?conversation={conversation_id}").content.decode()
    assert reopened.count('class="turn question') == 2 and "And who approves them?" in reopened
    assert f'value="{conversation_id}"' in reopened  # the next question continues it

    someone_else, _ = _signed_in(organization)
    assert someone_else.get(f"/bots/{bot.pk}/chat/?conversation={conversation_id}").status_code == 404
    assert conversation_id not in someone_else.get(f"/bots/{bot.pk}/chat/").content.decode()
    assert someone_else.get(f"/bots/{bot.pk}/chat/?conversation=nonsense").status_code == 404


def test_answers_render_markdown_and_never_run_html(organization, bot):
    client, _user = _signed_in(organization)
    conversation_id = _ask(client, bot)[-1][1]["conversation_id"]
    conversation = Conversation.objects.for_org(organization).get(pk=conversation_id)
    MessageFactory(
        conversation=conversation,
        content="**Bold** and a list:\n\n- one\n- two\n\n<script>alert(1)</script> [x](javascript:alert(1))",
    )
    page = client.get(f"/bots/{bot.pk}/chat/?conversation={conversation_id}").content.decode()
    assert "<strong>Bold</strong>" in page and "<li>one</li>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


def test_other_settings_apply_to_one_answer_and_are_not_saved(organization, bot):
    client, _user = _signed_in(organization)
    done = _ask(client, bot, top_k="1", min_relevance="0.05", provider="offline")[-1][1]
    answer = Message.objects.for_org(organization).get(pk=done["message_id"])
    assert answer.evidence["settings"]["overridden"] == ["min_relevance", "top_k"]  # offline is the bot's own
    assert len(answer.evidence["passages"]) == 1 and answer.evidence["settings"]["top_k"] == 1
    bot.refresh_from_db()
    assert bot.top_k == 4 and bot.min_relevance != 0.05
    rendered = client.get(f"/bots/{bot.pk}/chat/messages/{answer.pk}/").content.decode()
    assert "tried: min_relevance, top_k" in rendered


def test_a_member_may_chat_but_not_try_other_settings(organization, bot):
    client, _user = _signed_in(organization, Role.MEMBER)
    assert _ask(client, bot)[-1][0] == "done"
    page = client.get(f"/bots/{bot.pk}/chat/").content.decode()
    assert "Try with other settings" not in page
    refused = client.post(f"/bots/{bot.pk}/chat/ask/", {"message": QUESTION, "top_k": "2"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"


def test_bad_settings_and_an_empty_question_are_clear_errors(organization, bot):
    client, _user = _signed_in(organization)
    too_many = client.post(f"/bots/{bot.pk}/chat/ask/", {"message": QUESTION, "top_k": "99"})
    assert too_many.status_code == 400 and "top_k" in too_many.json()["error"]["details"]
    unknown = client.post(f"/bots/{bot.pk}/chat/ask/", {"message": QUESTION, "provider": "not-a-provider"})
    assert unknown.status_code == 400 and unknown.json()["error"]["details"] == {
        "provider": ["Choose one of your providers."]
    }
    empty = client.post(f"/bots/{bot.pk}/chat/ask/", {"message": "   "})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "validation_error"
    assert not Conversation.objects.for_org(organization).exists()


def test_the_evidence_says_when_the_fallback_answered(
    organization, bot, openai_provider, compatible_provider, loopback
):
    openai_provider.max_retries = 0
    openai_provider.save()
    loopback.state.api_key = None
    loopback.push(Behaviour(status=503))
    bot.provider, bot.fallback_provider = openai_provider, compatible_provider
    bot.save()
    client, _user = _signed_in(organization)
    done = _ask(client, bot)[-1][1]
    answer = Message.objects.for_org(organization).get(pk=done["message_id"])
    assert [a["provider"] for a in answer.evidence["attempts"]] == [openai_provider.name, "Local server"]
    assert answer.evidence["attempts"][0]["error"] and answer.evidence["fallback_used"] is True
    rendered = client.get(f"/bots/{bot.pk}/chat/messages/{answer.pk}/").content.decode()
    assert '<span class="badge queued">fallback</span>' in rendered and "failed (" in rendered


def test_feedback_buttons_record_a_rating_on_the_answer(organization, bot):
    client, user = _signed_in(organization)
    message_id = _ask(client, bot)[-1][1]["message_id"]
    url = f"/bots/{bot.pk}/chat/messages/{message_id}/feedback/"
    response = client.post(url, {"rating": "down"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'value="down" aria-pressed="true"' in response.content.decode()
    feedback = Feedback.objects.for_org(organization).get(message_id=message_id)
    assert (feedback.rating, feedback.user) == ("down", user)
    assert client.post(url, {"rating": "meh"}).status_code == 400


def test_another_bots_or_organizations_answers_are_not_found(organization, other_organization, bot):
    client, _user = _signed_in(organization)
    message_id = _ask(client, bot)[-1][1]["message_id"]
    other_bot = ChatbotFactory(organization=organization)
    assert client.get(f"/bots/{other_bot.pk}/chat/messages/{message_id}/").status_code == 404
    outsider, _ = _signed_in(other_organization)
    assert outsider.get(f"/bots/{bot.pk}/chat/messages/{message_id}/").status_code == 404
    assert outsider.post(f"/bots/{bot.pk}/chat/messages/{message_id}/feedback/", {"rating": "up"}).status_code == 404
