"""Human handoff: the state machine, the agent API, the bot's silence, and what the agent sees of bot answers."""

from __future__ import annotations

import pytest

from apps.chatbot.models import Message
from apps.organizations.models import AuditEvent, Role
from apps.widget.models import WidgetConversation
from common.events import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor(browser, shop_bot):
    assert browser.open(shop_bot.publishable_key).status_code == 200
    browser.send("How do returns work?")
    return browser


def _ask_for_person(visitor):
    response = visitor.post("/widget/v1/handoff")
    assert response.status_code == 200, response.content
    return response.json()["conversation"]


def _state(conversation_id):
    return WidgetConversation.objects.unscoped().get(conversation_id=conversation_id).state


def test_the_visitor_asks_for_a_person_and_an_agent_claims_replies_and_resolves(visitor, agent):
    conversation = _ask_for_person(visitor)
    assert conversation["state"] == "waiting"

    listed = agent.get("/api/v1/handoffs", {"state": "waiting"}).json()
    assert [row["conversation_id"] for row in listed] == [conversation["id"]]
    assert listed[0]["visitor"]["id"] == visitor.session["visitor"]["id"]

    claimed = agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["handoff"]["state"] == "with_agent"
    first_name = agent.user.full_name.split()[0]  # what the visitor sees of the member: never their email
    assert visitor.get("/widget/v1/conversation").json()["conversation"]["agent_name"] == first_name

    reply = agent.post(f"/api/v1/handoffs/{conversation['id']}/messages", {"text": "Hi, I'm here to help."})
    assert reply.status_code == 201, reply.content
    history = visitor.get("/widget/v1/conversation").json()["messages"]
    assert (history[-1]["role"], history[-1]["text"]) == ("agent", "Hi, I'm here to help.")

    resolved = agent.post(f"/api/v1/handoffs/{conversation['id']}/resolve")
    assert resolved.json()["handoff"]["state"] == "resolved"
    actions = list(
        AuditEvent.objects.unscoped().filter(action__startswith="handoff.").values_list("action", "actor_kind")
    )
    assert sorted(actions) == sorted(
        [("handoff.requested", "visitor"), ("handoff.claimed", "user"), ("handoff.resolved", "user")]
    )


def test_each_transition_emits_its_event_after_commit(visitor, agent, django_capture_on_commit_callbacks):
    from common.events import subscribe, unsubscribe

    heard = []

    def listen(event):
        heard.append((event.type, event.payload["state"], event.payload.get("outcome")))

    for event_type in (EventType.HANDOFF_REQUESTED, EventType.HANDOFF_ASSIGNED, EventType.HANDOFF_RESOLVED):
        subscribe(event_type, listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            conversation = _ask_for_person(visitor)
            agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
            agent.post(f"/api/v1/handoffs/{conversation['id']}/release")
    finally:
        for event_type in (EventType.HANDOFF_REQUESTED, EventType.HANDOFF_ASSIGNED, EventType.HANDOFF_RESOLVED):
            unsubscribe(event_type, listen)
    assert heard == [
        ("handoff.requested", "waiting", None),
        ("handoff.assigned", "with_agent", None),
        ("handoff.resolved", "bot", "released"),
    ]


def test_while_a_person_holds_the_conversation_the_bot_stays_silent(visitor, agent):
    conversation = _ask_for_person(visitor)
    waiting = visitor.send("Is anyone there?")
    assert waiting.status_code == 202
    assert waiting.json()["state"] == "waiting"
    assert waiting.json()["message"]["role"] == "visitor"
    agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
    held = visitor.send("My parcel never arrived.")
    assert (held.status_code, held.json()["state"]) == (202, "with_agent")
    roles = [m["role"] for m in visitor.get("/widget/v1/conversation").json()["messages"]]
    assert roles == ["visitor", "bot", "visitor", "visitor"]


def test_after_release_the_bot_answers_again_and_reads_the_agents_messages(visitor, agent, monkeypatch):
    conversation = _ask_for_person(visitor)
    agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
    agent.post(f"/api/v1/handoffs/{conversation['id']}/messages", {"text": "Your refund was approved today."})
    agent.post(f"/api/v1/handoffs/{conversation['id']}/release")
    assert _state(conversation["id"]) == "bot"

    from apps.chatbot.services import answer

    seen = {}
    original = answer.build_messages

    def spy(**kwargs):
        seen["history"] = [(m.role, m.content) for m in kwargs["history"]]
        return original(**kwargs)

    monkeypatch.setattr(answer, "build_messages", spy)
    response = visitor.send("How long until the refund reaches my card?")
    assert response.status_code == 200
    assert response.events[-1][0] == "done"
    assert ("assistant", "Your refund was approved today.") in seen["history"]


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], "claim"),  # bot: nobody asked
        (["claim"], "claim"),  # already held
        ([], "release"),
        (["claim", "resolve"], "resolve"),
        ([], "messages"),  # replying before claiming
    ],
    ids=["claim-in-bot", "claim-twice", "release-in-bot", "resolve-twice", "reply-unclaimed"],
)
def test_an_illegal_transition_is_409_and_changes_nothing(browser, shop_bot, agent, steps, illegal):
    browser.open(shop_bot.publishable_key)
    browser.send("Hello")
    conversation_id = browser.get("/widget/v1/conversation").json()["conversation"]["id"]
    if steps:
        _ask_for_person(browser)
    for step in steps:
        assert agent.post(f"/api/v1/handoffs/{conversation_id}/{step}").status_code == 200
    before = _state(conversation_id)
    response = agent.post(f"/api/v1/handoffs/{conversation_id}/{illegal}", {"text": "hi"})
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "handoff_state_conflict"
    assert response.json()["error"]["details"]["state"] == before
    assert _state(conversation_id) == before


def test_asking_twice_for_a_person_is_409(visitor):
    _ask_for_person(visitor)
    again = visitor.post("/widget/v1/handoff")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "handoff_state_conflict"


def test_a_bot_without_handoff_refuses_the_request(visitor, shop_bot):
    shop_bot.handoff_enabled = False
    shop_bot.save()
    response = visitor.post("/widget/v1/handoff")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "handoff_unavailable"


def test_only_the_member_holding_the_conversation_replies_or_resolves(visitor, agent, organization, make_member_client):
    conversation = _ask_for_person(visitor)
    agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
    colleague = make_member_client(organization, Role.ADMIN)
    assert colleague.post(f"/api/v1/handoffs/{conversation['id']}/claim").status_code == 409
    refused = colleague.post(f"/api/v1/handoffs/{conversation['id']}/messages", {"text": "me too"})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["reason"] == "held_by_another_member"
    assert colleague.post(f"/api/v1/handoffs/{conversation['id']}/resolve").status_code == 403


def test_the_agent_sees_the_passages_and_scores_behind_each_bot_answer(visitor, agent):
    conversation = _ask_for_person(visitor)
    detail = agent.get(f"/api/v1/handoffs/{conversation['id']}").json()
    bot_answer = next(m for m in detail["messages"] if m["role"] == "bot")
    assert bot_answer["retrieval"], bot_answer
    passage = bot_answer["retrieval"][0]
    assert passage["document_title"] == "Returns policy"
    assert passage["rank"] == 1 and isinstance(passage["score"], float)
    assert "vector_score" in passage and "text_score" in passage
    assert all(m["retrieval"] == [] for m in detail["messages"] if m["role"] != "bot")


def test_another_organizations_agent_cannot_see_or_claim_the_conversation(
    visitor, other_organization, make_member_client
):
    conversation = _ask_for_person(visitor)
    outsider = make_member_client(other_organization, Role.OWNER)
    assert outsider.get("/api/v1/handoffs").json() == []
    assert outsider.get(f"/api/v1/handoffs/{conversation['id']}").status_code == 404
    assert outsider.post(f"/api/v1/handoffs/{conversation['id']}/claim").status_code == 404


def test_api_keys_cannot_act_as_agents(visitor, organization):
    from rest_framework.test import APIClient

    from apps.api_keys.models import ALL_SCOPES
    from apps.api_keys.tests.factories import APIKeyFactory

    key = APIKeyFactory(organization=organization, scopes=list(ALL_SCOPES))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")
    assert client.get("/api/v1/handoffs").status_code == 403


def test_a_message_after_resolution_goes_to_the_bot_again(visitor, agent):
    conversation = _ask_for_person(visitor)
    agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
    agent.post(f"/api/v1/handoffs/{conversation['id']}/resolve")
    response = visitor.send("One more question: do you ship express?")
    assert response.status_code == 200 and response.events[-1][0] == "done"
    assert _state(conversation["id"]) == "bot"
    assert Message.objects.unscoped().filter(conversation_id=conversation["id"]).count() == 4


def test_an_agents_reply_sent_twice_with_one_client_msg_id_is_stored_once(visitor, agent):
    conversation = _ask_for_person(visitor)
    agent.post(f"/api/v1/handoffs/{conversation['id']}/claim")
    url = f"/api/v1/handoffs/{conversation['id']}/messages"
    first = agent.post(url, {"text": "On it.", "client_msg_id": "c-1"}).json()["message"]
    again = agent.post(url, {"text": "On it.", "client_msg_id": "c-1"}).json()["message"]
    assert again["id"] == first["id"]
    assert Message.objects.unscoped().filter(conversation_id=conversation["id"], content="On it.").count() == 1


def test_the_inbox_lists_a_conversation_that_asked_for_a_person_under_has_handoff(
    visitor, shop_bot, organization, other_organization, make_member_client
):
    from django.test import Client

    from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory
    from apps.organizations.tests.factories import MembershipFactory
    from apps.widget.tests.conftest import WidgetBrowser

    quiet = WidgetBrowser()
    assert quiet.open(shop_bot.publishable_key).status_code == 200
    quiet.send("Do you ship abroad?")
    conversation = _ask_for_person(visitor)
    elsewhere = ConversationFactory(
        bot=ChatbotFactory(organization=other_organization), handoff_state="waiting", title="Other shop"
    )
    MessageFactory(conversation=elsewhere, role=Message.Role.USER, content="Where is my parcel from the other shop?")
    admin = Client()  # the web pages sign in with a session
    admin.force_login(MembershipFactory(organization=organization, role=Role.ADMIN).user)
    listed = lambda query: admin.get("/conversations/?" + query).content.decode()  # noqa: E731

    page = listed("handoff=yes")
    assert "How do returns work?" in page and "Waiting for a person" in page
    assert "Do you ship abroad?" not in page and "other shop" not in page
    never = listed("handoff=no")
    assert "Do you ship abroad?" in never and "How do returns work?" not in never and "other shop" not in never
    assert '<label for="id_handoff">Handoff</label>' in listed("")

    agent = make_member_client(organization, Role.ADMIN)
    assert agent.post(f"/api/v1/handoffs/{conversation['id']}/claim").status_code == 200
    assert agent.post(f"/api/v1/handoffs/{conversation['id']}/release").status_code == 200
    transcript = admin.get(f"/conversations/{conversation['id']}/").content.decode()
    assert "Handed back to the bot" in transcript  # a person was asked for once, so it stays under "has handoff"
    assert "How do returns work?" in listed("handoff=yes")
    exported = admin.get("/conversations/export.json?handoff=yes").json()["conversations"]
    assert [(row["id"], row["handoff_state"]) for row in exported] == [(conversation["id"], "bot")]
