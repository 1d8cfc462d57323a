"""Errors on /openai/v1 come in OpenAI's shape, so the openai SDK raises its own typed errors."""

from __future__ import annotations

import uuid

import httpx
import openai
import pytest

from apps.api_keys.services import api_key_revoke
from apps.api_keys.tests.factories import APIKeyFactory
from apps.chatbot.models import Conversation
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.actors import Actor

pytestmark = pytest.mark.django_db(transaction=True)

ASK = [{"role": "user", "content": "How many days of vacation do employees get?"}]


def sdk(server, plaintext, **options):
    return openai.OpenAI(base_url=server.base_url, api_key=plaintext, max_retries=0, **options)


def _refusal(server, key, **request):
    with pytest.raises(openai.APIStatusError) as raised:
        sdk(server, key.plaintext).chat.completions.create(**request)
    return raised.value


def test_an_unknown_bot_or_another_organizations_is_model_not_found(
    docent_server, organization, other_organization, chat_key
):
    foreign = ChatbotFactory(organization=other_organization)
    for model in (str(uuid.uuid4()), "gpt-4o", str(foreign.id)):
        error = _refusal(docent_server, chat_key, model=model, messages=ASK)
        assert isinstance(error, openai.NotFoundError)
        assert (error.status_code, error.code, error.param, error.type) == (
            404,
            "model_not_found",
            "model",
            "invalid_request_error",
        )
    assert not Conversation.objects.unscoped().exists()


def test_a_bot_the_key_is_restricted_away_from_or_a_key_without_the_chat_scope_is_refused(docent_server, organization):
    allowed, other = ChatbotFactory(organization=organization), ChatbotFactory(organization=organization)
    restricted = APIKeyFactory(organization=organization, scopes=["chat"], bot_ids=[allowed.id])
    error = _refusal(docent_server, restricted, model=str(other.id), messages=ASK)
    assert isinstance(error, openai.PermissionDeniedError)
    assert (error.code, error.param, error.type) == ("permission_denied", "model", "permission_error")

    reader = APIKeyFactory(organization=organization, scopes=["bots:read"])
    error = _refusal(docent_server, reader, model=str(allowed.id), messages=ASK)
    assert isinstance(error, openai.PermissionDeniedError)
    assert "chat" in error.message
    with pytest.raises(openai.PermissionDeniedError):
        sdk(docent_server, reader.plaintext).models.list()
    assert not Conversation.objects.unscoped().exists()


def test_a_wrong_revoked_or_missing_key_is_invalid_api_key(docent_server, organization):
    bot = ChatbotFactory(organization=organization)
    revoked = APIKeyFactory(organization=organization, scopes=["chat"])
    api_key_revoke(organization=organization, actor=Actor.system(organization=organization), api_key_id=revoked.id)
    for plaintext in ("dk_000000000000_" + "x" * 43, revoked.plaintext, "not-a-key"):
        with pytest.raises(openai.AuthenticationError) as raised:
            sdk(docent_server, plaintext).chat.completions.create(model=str(bot.id), messages=ASK)
        assert (raised.value.code, raised.value.type) == ("invalid_api_key", "invalid_request_error")
    response = httpx.get(f"{docent_server.base_url}/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("messages", "extra", "param", "code"),
    [
        ([], {}, "messages", "invalid_value"),
        ([{"role": "system", "content": "Be brief."}], {}, "messages", "no_user_message"),
        ([*ASK, {"role": "assistant", "content": "Sure:"}], {}, "messages", "no_user_message"),
        ([{"role": "user", "content": "   "}], {}, "messages", "no_user_message"),
        ([{"role": "user", "content": "x" * 4001}], {}, "messages[0].content", "message_too_long"),
        ([{"role": "assistant", "content": "y" * 4001}, *ASK], {}, "messages[0].content", "message_too_long"),
        ([{"role": "user", "content": "hi"}] * 101, {}, "messages", "too_many_messages"),
        ([{"role": "tool", "content": "42"}, *ASK], {}, "messages[0].role", "unsupported_value"),
        ([{"role": "wizard", "content": "hi"}], {}, "messages[0].role", "invalid_value"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], {}, None, None),
        (ASK, {"n": 2}, "n", "unsupported_value"),
        (ASK, {"temperature": 3}, "temperature", "invalid_value"),
        (ASK, {"max_tokens": 0}, "max_tokens", "invalid_value"),
        (ASK, {"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", "unsupported_parameter"),
    ],
    ids=[
        "no messages",
        "system only",
        "assistant last",
        "blank question",
        "question too long",
        "earlier message too long",
        "too many messages",
        "tool message",
        "unknown role",
        "image part",
        "several choices",
        "temperature out of range",
        "no tokens",
        "tools",
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(docent_server, organization, chat_key, messages, extra, param, code):
    bot = ChatbotFactory(organization=organization)
    error = _refusal(docent_server, chat_key, model=str(bot.id), messages=messages, **extra)
    assert isinstance(error, openai.BadRequestError)
    assert error.type == "invalid_request_error"
    if param is None:  # an image part: the part is named
        assert (error.param, error.code) == ("messages[0].content[0]", "unsupported_content")
    else:
        assert (error.param, error.code) == (param, code)
    assert not Conversation.objects.unscoped().exists()


def test_a_body_that_is_not_json_is_a_400(docent_server, chat_key):
    response = httpx.post(
        f"{docent_server.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {chat_key.plaintext}", "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "The request body is not valid JSON.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_json",
        }
    }


def test_a_used_up_token_quota_is_insufficient_quota_and_is_not_retried(
    docent_server, organization, handbook, chat_key
):
    bot = ChatbotFactory(organization=organization)
    key = APIKeyFactory(organization=organization, scopes=["chat"], daily_token_quota=1)
    sdk(docent_server, key.plaintext).chat.completions.create(model=str(bot.id), messages=ASK)
    client = openai.OpenAI(base_url=docent_server.base_url, api_key=key.plaintext, max_retries=2)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model=str(bot.id), messages=ASK)
    assert (raised.value.code, raised.value.type) == ("insufficient_quota", "insufficient_quota")
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert Conversation.objects.unscoped().filter(bot=bot).count() == 1


def test_the_keys_rate_limit_is_rate_limit_exceeded_with_retry_after(docent_server, organization, handbook):
    bot = ChatbotFactory(organization=organization)
    key = APIKeyFactory(organization=organization, scopes=["chat"], rate_limit_per_minute=1)
    client = sdk(docent_server, key.plaintext)
    with pytest.raises(openai.RateLimitError) as raised:
        for _ in range(3):  # two of three requests share a minute window, even if one falls on its boundary
            client.chat.completions.create(model=str(bot.id), messages=ASK)
    assert raised.value.code == "rate_limit_exceeded"
    assert int(raised.value.response.headers["Retry-After"]) > 0


def test_a_provider_failure_is_a_server_error_in_openais_shape(
    docent_server, organization, handbook, chat_key, openai_provider, loopback
):
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.default = Behaviour(status=401)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    error = _refusal(docent_server, chat_key, model=str(bot.id), messages=ASK)
    assert isinstance(error, openai.InternalServerError)
    assert error.type == "server_error"
    stream = sdk(docent_server, chat_key.plaintext).chat.completions.create(
        model=str(bot.id), messages=ASK, stream=True
    )
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    assert raised.value.code == error.code


def test_an_unknown_url_under_the_prefix_is_a_404_in_openais_shape(docent_server, chat_key):
    response = httpx.post(
        f"{docent_server.base_url}/embeddings",
        headers={"Authorization": f"Bearer {chat_key.plaintext}"},
        json={"model": "x", "input": "y"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_rest_of_the_api_keeps_docents_error_format(docent_server, chat_key):
    response = httpx.get(f"{docent_server.url}/api/v1/bots/{uuid.uuid4()}/chat")
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_the_body_is_read_as_json_whatever_its_content_type_says(docent_server, organization, handbook, chat_key):
    bot = ChatbotFactory(organization=organization)
    response = httpx.post(
        f"{docent_server.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {chat_key.plaintext}", "Content-Type": "application/x-www-form-urlencoded"},
        content=f'{{"model": "{bot.id}", "messages": [{{"role": "user", "content": "Vacation days?"}}]}}'.encode(),
    )
    assert response.status_code == 200, response.text
    assert "25 days" in response.json()["choices"][0]["message"]["content"]


def test_a_body_that_is_not_an_object_is_a_400_without_a_param(docent_server, chat_key):
    response = httpx.post(
        f"{docent_server.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {chat_key.plaintext}"},
        json=["not", "an", "object"],
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] is None
    assert response.json()["error"]["type"] == "invalid_request_error"
