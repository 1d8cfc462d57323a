"""Chat over REST: JSON and Server-Sent Events, failures as error events with a persisted record."""

import dataclasses
import json

import pytest

from apps.chatbot.models import Message, Participant
from apps.chatbot.serializers import ChatInputSerializer, ChatOutputSerializer, chat_input_read, chat_output_data
from apps.chatbot.tests.conftest import HANDBOOK, sse_events
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory
from apps.chatbot_provider.tests.loopback import Behaviour
from apps.documents.services.search import SearchResult
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.actors import Actor
from apps.organizations.models import Membership, Role
from apps.organizations.services import membership_remove
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def retrieved(monkeypatch):
    """Passages the bot's search returns (retrieval itself is tested end to end with real documents)."""
    passages = list(HANDBOOK)

    def retrieve(*, bot, question):
        return [p for p in passages if p.score >= (bot.min_relevance or 0.0)]

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", retrieve)
    return passages


@pytest.fixture
def bot(organization):
    return ChatbotFactory(organization=organization, name="HR bot", dont_know_message="I don't know that.")


def chat_url(bot):
    return f"/api/v1/bots/{bot.id}/chat"


def parse_sse(response):
    return sse_events(response.streaming_content)


def test_offline_bot_answers_in_json_with_citations(member_client, bot, retrieved):
    response = member_client.post(chat_url(bot), {"message": "How many vacation days do employees get?"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert "25 days of paid vacation" in body["answer"]
    assert "[1]" in body["answer"]
    assert body["citations"][0]["document_title"] == "Employee handbook"
    assert body["citations"][0]["page"] == 3
    assert body["status"] == "complete"
    assert body["usage"]["completion_tokens"] > 0
    answer = Message.objects.unscoped().get(pk=body["message_id"])
    assert answer.role == "assistant"
    assert answer.ttft_ms is not None and answer.total_ms is not None and answer.retrieval_ms is not None
    question = Message.objects.unscoped().get(pk=body["user_message_id"])
    assert question.content == "How many vacation days do employees get?"


def test_sse_streams_tokens_then_citations_then_done(member_client, bot, retrieved):
    response = member_client.post(
        chat_url(bot), {"message": "When does the office open?"}, HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    events = parse_sse(response)
    names = [name for name, _ in events]
    assert names[-2:] == ["citations", "done"]
    assert set(names[:-2]) == {"token"} and len(names) > 3
    text = "".join(data["text"] for name, data in events if name == "token")
    assert "8 am" in text
    citations = events[-2][1]["citations"]
    assert [c["document_title"] for c in citations] == ["Office guide"]
    done = events[-1][1]
    assert Message.objects.unscoped().get(pk=done["message_id"]).content == text


def test_follow_up_in_the_same_conversation_sends_the_history(
    member_client, organization, openai_provider, loopback, retrieved
):
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    first = member_client.post(chat_url(bot), {"message": "How many vacation days?"}).json()
    second = member_client.post(
        chat_url(bot), {"message": "And who approves them?", "conversation_id": first["conversation_id"]}
    ).json()
    assert second["conversation_id"] == first["conversation_id"]
    sent = loopback.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "How many vacation days?"
    assert "<passages>" in sent[-1]["content"]


def test_network_provider_answer_is_cited_and_metered(
    member_client, organization, openai_provider, loopback, retrieved
):
    loopback.state.reply = "You get 25 days [1]."
    bot = ChatbotFactory(organization=organization, provider=openai_provider, model="gpt-bot")
    body = member_client.post(chat_url(bot), {"message": "How many vacation days?"}).json()
    assert body["answer"] == "You get 25 days [1]."
    assert [c["marker"] for c in body["citations"]] == [1]
    assert body["model"] == "gpt-bot"
    assert body["usage"]["completion_tokens"] == 5
    assert body["usage"]["prompt_tokens"] > 0
    assert loopback.requests[-1].body["model"] == "gpt-bot"


def test_an_answer_records_the_cpu_its_retrieval_and_its_provider_took(
    member_client, organization, openai_provider, loopback, retrieved
):
    loopback.state.reply = "You get 25 days [1]."
    bot = ChatbotFactory(organization=organization, provider=openai_provider, model="gpt-bot")
    body = member_client.post(chat_url(bot), {"message": "How many vacation days?"}).json()
    cpu = Message.objects.unscoped().get(pk=body["message_id"]).evidence["cpu_ms"]
    assert set(cpu) == {"retrieval", "provider"}
    assert cpu["provider"] > 0 and cpu["retrieval"] >= 0


def test_a_new_conversation_is_saved_with_its_participants_and_the_numbered_question(member_client, bot, retrieved):
    body = member_client.post(chat_url(bot), {"message": "How many vacation days do employees get?"}).json()
    question = Message.objects.unscoped().get(pk=body["user_message_id"])
    assert (question.seq, question.role, question.conversation.title) == (
        1,
        "user",
        "How many vacation days do employees get?",
    )
    participants = Participant.objects.unscoped().filter(conversation_id=question.conversation_id)
    kinds = sorted(participants.values_list("kind", flat=True))
    assert kinds == ["bot", "user"] and question.conversation.last_seq == 2


@pytest.mark.parametrize("message", ["", "   "])
def test_an_empty_message_is_a_clear_400(member_client, bot, message):
    response = member_client.post(chat_url(bot), {"message": message})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The message is empty."
    assert not Message.objects.unscoped().exists()


def test_an_over_long_message_is_a_clear_400(member_client, bot, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 100
    response = member_client.post(chat_url(bot), {"message": "x" * 101})
    assert response.status_code == 400
    assert "too long" in response.json()["error"]["message"]


def test_an_unknown_or_foreign_conversation_is_404(member_client, bot, other_organization):
    foreign = ConversationFactory(bot=ChatbotFactory(organization=other_organization))
    other_bot_conversation = ConversationFactory(bot=ChatbotFactory(organization=bot.organization))
    for conversation_id in (foreign.id, other_bot_conversation.id, "00000000-0000-0000-0000-000000000000"):
        response = member_client.post(chat_url(bot), {"message": "hi", "conversation_id": str(conversation_id)})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_a_4xx_asked_for_as_sse_is_one_error_event(member_client, bot):
    response = member_client.post(chat_url(bot), {"message": ""}, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 400
    assert response.content.decode().startswith("event: error\ndata: ")


def test_a_bot_without_documents_says_it_does_not_know(member_client, bot):
    body = member_client.post(chat_url(bot), {"message": "How many vacation days?"}).json()
    assert body["status"] == "dont_know"
    assert body["answer"] == "I don't know that."
    assert body["citations"] == []


def test_passages_under_the_minimum_relevance_lead_to_dont_know(member_client, organization, monkeypatch):
    # The search returns the handbook with a cosine similarity of 0.6: the bot's own relevance filter decides.
    hits = [dataclasses.replace(hit, vector_score=0.6, text_score=0.1) for hit in HANDBOOK]
    monkeypatch.setattr(
        "apps.documents.services.search.search",
        lambda **_kwargs: SearchResult(hits=list(hits), plan="exact", scope_chunks=len(hits), fusion="rrf"),
    )
    collection = CollectionFactory(organization=organization)
    strict = ChatbotFactory(organization=organization, min_relevance=0.95, dont_know_message="Not in the docs.")
    lenient = ChatbotFactory(organization=organization, min_relevance=0.5, dont_know_message="Not in the docs.")
    strict.collections.add(collection)
    lenient.collections.add(collection)

    body = member_client.post(chat_url(strict), {"message": "How many vacation days?"}).json()
    assert body["answer"] == "Not in the docs."
    assert body["status"] == "dont_know"
    assert body["citations"] == []
    body = member_client.post(chat_url(lenient), {"message": "How many vacation days?"}).json()
    assert body["status"] == "complete", body
    assert "25 days of paid vacation" in body["answer"]


def test_a_failing_provider_gives_a_json_error_and_keeps_both_turns(
    member_client, organization, openai_provider, loopback, retrieved
):
    openai_provider.max_retries = 0
    openai_provider.save()
    loopback.state.default = Behaviour(status=500, error_message="model crashed")
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    response = member_client.post(chat_url(bot), {"message": "How many vacation days?"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable"
    assert "model crashed" in error["message"]
    failed = Message.objects.unscoped().get(pk=error["details"]["message_id"])
    assert failed.status == "failed"
    assert failed.error_code == "provider_unavailable"
    assert Message.objects.unscoped().get(pk=error["details"]["user_message_id"]).content == "How many vacation days?"


def test_a_provider_timeout_is_an_error_event_in_sse(member_client, organization, openai_provider, loopback, retrieved):
    openai_provider.timeout_seconds = 0.5
    openai_provider.max_retries = 0
    openai_provider.save()
    loopback.push(Behaviour(stall_after=0))
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    response = member_client.post(chat_url(bot), {"message": "vacation?"}, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    events = parse_sse(response)
    assert [name for name, _ in events] == ["error"]
    assert events[0][1]["code"] == "provider_timeout"
    assert Message.objects.unscoped().get(pk=events[0][1]["message_id"]).status == "failed"


def test_a_stream_cut_mid_answer_keeps_the_partial_answer(
    member_client, organization, openai_provider, loopback, retrieved
):
    loopback.state.reply = "One two three four five six [1]."
    loopback.push(Behaviour(cut_after=3))
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    response = member_client.post(chat_url(bot), {"message": "vacation?"}, HTTP_ACCEPT="text/event-stream")
    events = parse_sse(response)
    names = [name for name, _ in events]
    assert names == ["token", "token", "token", "error"]
    cut = Message.objects.unscoped().get(pk=events[-1][1]["message_id"])
    assert cut.content == "One two three"
    assert cut.status == "interrupted"
    assert "middle of the answer" in cut.error_message


def test_the_fallback_provider_answers_when_the_main_one_is_down(
    member_client, organization, openai_provider, compatible_provider, loopback, retrieved
):
    openai_provider.max_retries = 0
    openai_provider.save()
    loopback.state.api_key = None  # the local server takes any key
    loopback.push(Behaviour(status=503))
    bot = ChatbotFactory(organization=organization, provider=openai_provider, fallback_provider=compatible_provider)
    body = member_client.post(chat_url(bot), {"message": "vacation?"}).json()
    assert body["status"] == "complete"
    assert body["model"] == "llama-loop"
    assert Message.objects.unscoped().get(pk=body["message_id"]).provider_name == "Local server"


def test_api_key_scope_is_needed_for_chat(bot):
    from apps.chatbot.api import ChatView, ConversationViewSet, FeedbackView

    assert ChatView.required_scopes == {"POST": "chat"}
    assert FeedbackView.required_scopes == {"POST": "chat"}
    assert ConversationViewSet.required_scopes == {"GET": "conversations:read"}


def test_a_gemini_bot_streams_a_cited_answer(member_client, organization, gemini_provider, loopback, retrieved):
    loopback.state.reply = "Twenty-five days a year [1]."
    bot = ChatbotFactory(organization=organization, provider=gemini_provider, system_prompt="Be brief.")
    events = parse_sse(member_client.post(chat_url(bot), {"message": "vacation?"}, HTTP_ACCEPT="text/event-stream"))
    assert "".join(d["text"] for n, d in events if n == "token") == "Twenty-five days a year [1]."
    assert [c["marker"] for c in events[-2][1]["citations"]] == [1]
    assert events[-1][1]["usage"]["completion_tokens"] == 5
    sent = loopback.requests[-1].body
    assert "Be brief." in sent["systemInstruction"]["parts"][0]["text"]
    assert "<passages>" in sent["contents"][-1]["parts"][0]["text"]


def test_a_chat_turn_announces_the_conversation_the_question_and_the_answer_in_order(
    member_client, bot, retrieved, django_capture_on_commit_callbacks
):
    from common.events import ALL, subscribe, unsubscribe

    heard: list = []
    subscribe(ALL, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = member_client.post(chat_url(bot), {"message": "How many vacation days do employees get?"})
    finally:
        unsubscribe(ALL, heard.append)
    body = response.json()
    assert [e.type for e in heard] == ["conversation.created", "message.created", "message.created"]
    question, answer = heard[1].payload, heard[2].payload
    assert (question["message_id"], question["seq"], question["role"]) == (body["user_message_id"], 1, "user")
    assert (answer["message_id"], answer["seq"], answer["sender_kind"]) == (body["message_id"], 2, "bot")
    assert {e.payload["conversation_id"] for e in heard} == {body["conversation_id"]}


def test_member_removed_loses_chat_access_at_once(organization, make_member_client, bot, retrieved):
    client = make_member_client(organization, Role.MEMBER)
    assert client.post(chat_url(bot), {"message": "How many vacation days?"}).status_code == 200
    owner = MembershipFactory(organization=organization, role=Role.OWNER)
    membership = Membership.objects.for_org(organization).get(user=client.user)
    membership_remove(membership=membership, actor=Actor.for_user(owner.user).in_organization(organization, owner))
    response = client.post(chat_url(bot), {"message": "How many vacation days?"})
    assert response.status_code == 404
    assert Message.objects.unscoped().filter(conversation__bot=bot).count() == 2  # the first question and answer


# The chat request is read without building ChatInputSerializer when its body is the usual one, and the JSON answer
# is written without ChatOutputSerializer (ADR 0133): both must give what the serializers give.

VALID_CHAT_BODIES = [
    {"message": "How many vacation days?"},
    {"message": "  spaces kept, not trimmed \n"},
    {"message": "", "conversation_id": None},
    {"message": "Ünïcödé and emoji 🎉"},
    {"message": "x" * 100_000},
    {"message": "hi", "conversation_id": "2F1C5E9A-3B6D-4E8F-9A1B-2C3D4E5F6A7B"},
    {"message": "hi", "conversation_id": "{2f1c5e9a-3b6d-4e8f-9a1b-2c3d4e5f6a7b}"},
    {"message": "hi", "conversation_id": "urn:uuid:2f1c5e9a-3b6d-4e8f-9a1b-2c3d4e5f6a7b"},
    {"message": "hi", "conversation_id": "2f1c5e9a3b6d4e8f9a1b2c3d4e5f6a7b"},
    {"message": "hi", "conversation_id": 12},
    {"message": 42},
    {"message": "hi", "extra": "ignored"},
]
REFUSED_CHAT_BODIES = [
    {},
    {"message": None},
    {"message": ["a list"]},
    {"message": True},
    {"message": "a\x00null"},
    {"message": "lone \ud800 surrogate"},
    {"message": "x" * 100_001},
    {"message": "hi", "conversation_id": "not-a-uuid"},
    {"message": "hi", "conversation_id": ""},
    {"message": "hi", "conversation_id": ["2f1c5e9a-3b6d-4e8f-9a1b-2c3d4e5f6a7b"]},
    ["a list, not an object"],
]


@pytest.mark.parametrize("body", VALID_CHAT_BODIES)
def test_a_chat_request_is_read_as_the_serializer_reads_it(body):
    serializer = ChatInputSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    expected = (serializer.validated_data["message"], serializer.validated_data.get("conversation_id"))
    read = chat_input_read(body)
    assert read == expected
    assert type(read[0]) is type(expected[0]) and type(read[1]) is type(expected[1])


@pytest.mark.parametrize("body", REFUSED_CHAT_BODIES)
def test_a_malformed_chat_request_is_the_serializers_400_in_the_common_format(member_client, bot, body):
    serializer = ChatInputSerializer(data=body)
    assert not serializer.is_valid()
    # as a client sends it: JSON escapes (a lone surrogate can only come as one)
    response = member_client.post(chat_url(bot), json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    expected = (
        serializer.errors if isinstance(body, dict) else {"non_field_errors": serializer.errors["non_field_errors"]}
    )
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "Invalid input.",
        "details": json.loads(json.dumps(expected)),
    }
    assert not Message.objects.unscoped().exists()


def test_the_json_answer_is_what_the_output_serializer_gives(member_client, bot, retrieved):
    response = member_client.post(chat_url(bot), {"message": "How many vacation days do employees get?"})
    body = response.json()
    assert body["citations"]
    assert list(body) == list(ChatOutputSerializer(body).data)
    assert chat_output_data(body) == ChatOutputSerializer(body).data
    odd = {
        **body,
        "status": Message.Status.DONT_KNOW,
        "seq": "7",
        "latency_ms": {"retrieval": None, "first_token": 3.9, "total": None},
        "citations": [{**body["citations"][0], "page": None, "score": 1, "marker": "2", "extra": "dropped"}],
    }
    written, serialized = chat_output_data(odd), ChatOutputSerializer(odd).data
    assert written == serialized
    assert json.dumps(written) == json.dumps(serialized)  # the same keys in the same order, the same types
