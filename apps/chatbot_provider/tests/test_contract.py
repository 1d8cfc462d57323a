"""The real openai and google-genai SDKs against a loopback server speaking each wire format."""

import base64
import logging
import struct

import pytest

from apps.chatbot_provider import clients
from apps.chatbot_provider.clients import ChatMessage, TextDelta, Usage
from apps.chatbot_provider.errors import (
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from apps.chatbot_provider.tests.loopback import Behaviour

pytestmark = pytest.mark.django_db

MESSAGES = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "What is Docent?")]
NETWORK_PROVIDERS = ["openai_provider", "compatible_provider", "gemini_provider"]


def _collect(provider, **kwargs):
    return list(clients.stream_chat(provider=provider, messages=MESSAGES, **kwargs))


@pytest.fixture(params=NETWORK_PROVIDERS)
def provider(request):
    return request.getfixturevalue(request.param)


def test_streamed_answer_arrives_as_text_deltas_then_usage(provider, loopback):
    loopback.state.reply = "Docent answers from your documents [1]."
    events = _collect(provider)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Docent answers from your documents [1]."
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    assert isinstance(events[-1], Usage)
    assert events[-1].completion_tokens == 6
    assert events[-1].prompt_tokens > 0


def test_openai_request_carries_model_messages_key_and_usage_option(openai_provider, loopback):
    _collect(openai_provider, model="gpt-special", temperature=0.4, max_tokens=77)
    sent = loopback.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-loopback-secret-1234"
    assert sent.body["model"] == "gpt-special"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["max_completion_tokens"] == 77
    assert sent.body["temperature"] == 0.4
    assert sent.body["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert set(sent.body) == {"model", "messages", "stream", "stream_options", "temperature", "max_completion_tokens"}


def test_compatible_server_gets_max_tokens_and_no_real_key_is_needed(compatible_provider, loopback):
    _collect(compatible_provider, max_tokens=50)
    assert loopback.requests[-1].body["max_tokens"] == 50
    assert "max_completion_tokens" not in loopback.requests[-1].body


def test_gemini_request_carries_system_instruction_and_api_key_header(gemini_provider, loopback):
    _collect(gemini_provider, max_tokens=33)
    sent = loopback.requests[-1]
    assert ":streamGenerateContent" in sent.path
    assert sent.headers["x-goog-api-key"] == "gm-loopback-secret-5678"
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "Answer briefly."
    assert sent.body["contents"][0]["role"] == "user"
    assert sent.body["generationConfig"]["maxOutputTokens"] == 33


def test_embeddings_have_the_requested_dimensions(provider, loopback):
    vectors = clients.embed_texts(provider=provider, texts=["alpha", "beta", "gamma"], model="", dimensions=48)
    assert len(vectors) == 3
    assert all(len(v) == 48 for v in vectors)
    assert vectors[0] != vectors[1]
    body = loopback.requests[-1].body
    if "requests" in body:  # Gemini
        assert {r["outputDimensionality"] for r in body["requests"]} == {48}
    else:
        assert body["dimensions"] == 48


def test_openai_base64_embeddings_decode_to_the_same_vector(openai_provider, loopback):
    vector = clients.embed_texts(provider=openai_provider, texts=["alpha"], model="m", dimensions=8)[0]
    from apps.chatbot_provider.tests.loopback import fake_vector

    expected = struct.unpack("<8f", base64.b64decode(base64.b64encode(struct.pack("<8f", *fake_vector("alpha", 8)))))
    assert vector == pytest.approx(list(expected), rel=1e-6)


def test_a_wrong_api_key_is_an_authentication_error_without_retry(provider, loopback):
    loopback.state.api_key = "the-right-key"
    with pytest.raises(ProviderAuthenticationFailed) as caught:
        _collect(provider)
    assert "API key" in caught.value.message
    assert len(loopback.requests) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, ProviderRateLimited), (500, ProviderUnavailable), (503, ProviderUnavailable), (400, ProviderBadRequest)],
)
def test_provider_status_codes_map_to_typed_errors(provider, loopback, status, error):
    loopback.state.default = Behaviour(status=status, error_message="provider says no")
    with pytest.raises(error) as caught:
        _collect(provider)
    assert "provider says no" in caught.value.message
    assert caught.value.transient is (status != 400)


def test_rate_limits_and_server_errors_are_retried_before_the_first_token(provider, loopback):
    loopback.push(Behaviour(status=429), Behaviour(status=503))
    events = _collect(provider)
    assert "".join(e.text for e in events if isinstance(e, TextDelta))
    assert len(loopback.requests) == 3


def test_retries_are_bounded_by_the_provider_setting(provider, loopback):
    provider.max_retries = 1
    loopback.state.default = Behaviour(status=503)
    with pytest.raises(ProviderUnavailable):
        _collect(provider)
    assert len(loopback.requests) == 2


def test_a_bad_request_is_not_retried(provider, loopback):
    loopback.state.default = Behaviour(status=400)
    with pytest.raises(ProviderBadRequest):
        _collect(provider)
    assert len(loopback.requests) == 1


def test_a_stream_cut_after_the_first_token_fails_without_a_retry(provider, loopback):
    loopback.push(Behaviour(cut_after=2))
    received = []
    with pytest.raises(ProviderUnavailable) as caught:
        for event in clients.stream_chat(provider=provider, messages=MESSAGES):
            received.append(event)
    assert received, "the tokens before the cut were delivered"
    assert "middle of the answer" in caught.value.message
    assert len(loopback.requests) == 1


def test_a_provider_that_stops_sending_times_out(provider, loopback):
    provider.timeout_seconds = 0.5
    provider.max_retries = 0
    loopback.push(Behaviour(stall_after=0))
    with pytest.raises(ProviderTimeout):
        _collect(provider)


def test_embedding_errors_say_whether_they_are_worth_retrying(provider, loopback):
    provider.max_retries = 0
    loopback.state.default = Behaviour(status=429)
    with pytest.raises(ProviderRateLimited) as caught:
        clients.embed_texts(provider=provider, texts=["x"], model="m", dimensions=8)
    assert type(caught.value).transient is True


def test_the_api_key_never_appears_in_errors_or_logs(openai_provider, loopback, caplog):
    caplog.set_level(logging.DEBUG)
    loopback.push(Behaviour(status=503), Behaviour(status=401, error_message="Bad key sk-loopback-secret-1234"))
    with pytest.raises(ProviderAuthenticationFailed) as caught:
        _collect(openai_provider)
    assert "sk-loopback-secret-1234" not in caught.value.message
    assert "sk-loopback-secret-1234" not in caplog.text


def test_offline_provider_answers_from_passages_without_network(loopback):
    events = list(
        clients.stream_chat(
            provider=None,
            messages=[ChatMessage("user", "When was the bridge built?")],
            passages=["The bridge was built in 1932. It is red.", "Cats sleep a lot."],
        )
    )
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "The bridge was built in 1932 [1]."
    assert loopback.requests == []


@pytest.mark.parametrize("model", ["gemini-embedding-2", "gemini-embedding-001", "text-embedding-004"])
def test_gemini_embeds_each_text_separately_whatever_the_model(gemini_provider, loopback, model):
    vectors = clients.embed_texts(provider=gemini_provider, texts=["alpha", "beta", "gamma"], model=model, dimensions=8)
    assert len(vectors) == 3
    assert len({tuple(v) for v in vectors}) == 3


def test_the_loopback_also_answers_non_streamed_calls_in_both_formats(openai_provider, gemini_provider, loopback):
    loopback.state.reply = "Plain answer."
    loopback.state.api_key = None  # both fixtures share one server; keys are checked elsewhere
    openai_client = clients.client_for(openai_provider).sdk_client(openai_provider)
    completion = openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Plain answer."
    assert completion.usage.completion_tokens == 2
    gemini_client = clients.client_for(gemini_provider).sdk_client(gemini_provider)
    response = gemini_client.models.generate_content(model="gemini-loop", contents="hi")
    assert response.text == "Plain answer."
    assert response.usage_metadata.candidates_token_count == 2
