"""One interface over every model provider: stream a chat completion, embed a batch of texts.

Kinds: `openai` and `openai_compatible` use the official `openai` SDK (the latter with a base URL),
`gemini` uses `google-genai`, `offline` never touches the network. SDK retries are off; Docent retries
429/5xx/timeouts itself, with jittered exponential backoff, and only before the first streamed token,
so a retry never duplicates output. Every SDK failure becomes a typed error from `errors.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import httpx
import httpx2  # the transport of the openai and google-genai SDKs
import openai
from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from apps.chatbot_provider.errors import (
    ProviderAddressBlocked,
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderMisconfigured,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from apps.chatbot_provider.extractive import extractive_answer
from apps.chatbot_provider.models import (
    OFFLINE_CHAT_MODEL,
    OFFLINE_EMBEDDING_MODEL,
    ChatbotProvider,
    ProviderKind,
)
from apps.chatbot_provider.url_safety import check_base_url
from apps.organizations.models import Organization
from apps.organizations.services import audit_record
from common.core.errors import Conflict
from common.security.encryption import mask

logger = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    model: str


StreamEvent = TextDelta | Usage


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str
    latency_ms: int
    model: str
    error_code: str = ""


def _check_outbound(provider: ChatbotProvider) -> None:
    if provider.base_url:
        check_base_url(provider.base_url)


# ---------------------------------------------------------------------------------------------- CRUD

PROVIDER_FIELDS = (
    "name",
    "kind",
    "api_key",
    "base_url",
    "default_chat_model",
    "default_embedding_model",
    "timeout_seconds",
    "max_retries",
)


def _validate(provider: ChatbotProvider) -> None:
    from common.core.errors import ValidationFailed

    problems: dict[str, list[str]] = {}
    if provider.kind == ProviderKind.OPENAI_COMPATIBLE and not provider.base_url:
        problems["base_url"] = ["An OpenAI-compatible provider needs the server's base URL."]
    elif provider.base_url and provider.kind != ProviderKind.OFFLINE:
        try:
            check_base_url(provider.base_url)
        except ProviderAddressBlocked as blocked:
            problems["base_url"] = [blocked.message]
    if provider.kind in (ProviderKind.OPENAI, ProviderKind.GEMINI) and not provider.api_key:
        problems["api_key"] = ["This provider needs an API key."]
    if provider.timeout_seconds <= 0 or provider.timeout_seconds > 600:
        problems["timeout_seconds"] = ["Choose a timeout between 0 and 600 seconds."]
    if provider.max_retries > 5:
        problems["max_retries"] = ["At most 5 retries."]
    if (
        ChatbotProvider.objects.for_org(provider.organization_id)
        .filter(name=provider.name)
        .exclude(pk=provider.pk)
        .exists()
    ):
        problems["name"] = ["A provider with this name already exists."]
    if problems:
        raise ValidationFailed(details=problems)
    if provider.kind == ProviderKind.OFFLINE:
        provider.default_chat_model = provider.default_chat_model or OFFLINE_CHAT_MODEL
        provider.default_embedding_model = provider.default_embedding_model or OFFLINE_EMBEDDING_MODEL


def _audit(*, provider: ChatbotProvider, actor: Any, action: str, data: dict[str, Any] | None = None) -> None:
    audit_record(
        organization=provider.organization_id,
        actor=actor,
        action=action,
        target=provider,
        target_type="chatbot_provider",
        data={"name": provider.name, "kind": provider.kind, **(data or {})},
    )


@transaction.atomic
def provider_create(*, organization: Organization, actor: Any, **fields: Any) -> ChatbotProvider:
    provider = ChatbotProvider(organization=organization, **{k: v for k, v in fields.items() if v is not None})
    _validate(provider)
    provider.save()
    _audit(provider=provider, actor=actor, action="provider.created")
    return provider


@transaction.atomic
def provider_update(*, provider: ChatbotProvider, actor: Any, **fields: Any) -> ChatbotProvider:
    changed = []
    for name, value in fields.items():
        if name not in PROVIDER_FIELDS or value is None:
            continue
        if name == "api_key" and value == "":
            continue  # write-only: an empty value keeps the stored key
        if getattr(provider, name) != value:
            setattr(provider, name, value)
            changed.append(name)
    _validate(provider)
    provider.save()
    # The changed field names are recorded, never the values (the key among them).
    _audit(provider=provider, actor=actor, action="provider.updated", data={"changed": changed})
    return provider


@transaction.atomic
def provider_delete(*, provider: ChatbotProvider, actor: Any) -> None:
    try:
        with transaction.atomic():
            _audit(provider=provider, actor=actor, action="provider.deleted")
            provider.delete()
    except ProtectedError:
        raise Conflict(
            "Bots still answer with this provider: choose another provider for them first.",
            details={"provider": ["In use by a bot."]},
        ) from None


# ------------------------------------------------------------------------------------- SDK clients

_CLIENTS: OrderedDict[str, Any] = OrderedDict()
_CLIENTS_LOCK = threading.Lock()
_MAX_CLIENTS = 128


def _timeout(provider: ChatbotProvider) -> openai.Timeout:
    read = float(provider.timeout_seconds)
    connect = min(read, float(getattr(settings, "PROVIDER_CONNECT_TIMEOUT_SECONDS", 5.0)))
    return openai.Timeout(read, connect=connect)


def _client_key(provider: ChatbotProvider) -> str:
    fingerprint = hashlib.sha256(
        "|".join(
            [str(provider.pk), provider.kind, provider.base_url, provider.api_key, str(provider.timeout_seconds)]
        ).encode()
    ).hexdigest()
    return fingerprint


def _client(provider: ChatbotProvider) -> Any:
    """A cached SDK client per provider configuration (connection pools are reused between requests)."""
    key = _client_key(provider)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None:
            _CLIENTS.move_to_end(key)
            return client
    if provider.kind == ProviderKind.GEMINI:
        http_options = genai_types.HttpOptions(
            timeout=int(provider.timeout_seconds * 1000),
            base_url=provider.base_url or None,
            client_args={"follow_redirects": False},  # a redirect could lead past the base URL check
        )
        client = genai.Client(api_key=provider.api_key, http_options=http_options)
    elif provider.kind in (ProviderKind.OPENAI, ProviderKind.OPENAI_COMPATIBLE):
        client = openai.OpenAI(
            # Local servers (Ollama, vLLM) accept any key; the SDK insists on one.
            api_key=provider.api_key or "not-needed",
            base_url=provider.base_url or None,
            timeout=_timeout(provider),
            max_retries=0,
            # A redirect could lead past the base URL check.
            http_client=openai.DefaultHttpxClient(follow_redirects=False, timeout=_timeout(provider)),
        )
    else:
        raise ProviderMisconfigured(f"Provider kind {provider.kind!r} has no network client.")
    with _CLIENTS_LOCK:
        _CLIENTS[key] = client
        while len(_CLIENTS) > _MAX_CLIENTS:
            _CLIENTS.popitem(last=False)
    return client


# ------------------------------------------------------------------------------------- error mapping


def _scrub(text: str, provider: ChatbotProvider) -> str:
    text = " ".join(str(text).split())[:500]
    if "<" in text and ">" in text:
        return ""  # markup: an error page, not a provider's message; it is not repeated
    if provider.api_key and len(provider.api_key) >= 4:
        text = text.replace(provider.api_key, mask(provider.api_key))
    return text


def _from_status(status: int, detail: str, provider: ChatbotProvider) -> ProviderError:
    name = provider.name
    detail = detail or "no details"
    if status in (401, 403):
        return ProviderAuthenticationFailed(f"{name} rejected the API key (HTTP {status}): {detail}")
    if status == 429:
        return ProviderRateLimited(f"{name} is rate limiting requests (HTTP 429): {detail}")
    if status in (408, 504):
        return ProviderTimeout(f"{name} timed out (HTTP {status}): {detail}")
    if status >= 500:
        return ProviderUnavailable(f"{name} failed (HTTP {status}): {detail}")
    return ProviderBadRequest(f"{name} refused the request (HTTP {status}): {detail}")


def map_error(exc: BaseException, provider: ChatbotProvider) -> ProviderError:
    """Translate any SDK or transport exception into one typed ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    name = provider.name
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException | httpx.TimeoutException | TimeoutError):
        return ProviderTimeout(f"{name} did not answer within {provider.timeout_seconds:g} seconds.")
    if isinstance(exc, openai.APIStatusError):
        # Only a provider's structured error message is repeated, never a raw response body.
        body = exc.body
        detail = ""
        if isinstance(body, dict):
            error = body.get("error")
            detail = str((error.get("message") if isinstance(error, dict) else None) or body.get("message") or "")
        return _from_status(exc.status_code, _scrub(detail, provider), provider)
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError | httpx.TransportError | ConnectionError):
        return ProviderUnavailable(f"Could not reach {name}: {_scrub(str(exc) or type(exc).__name__, provider)}")
    if isinstance(exc, genai_errors.APIError):
        detail = _scrub(exc.message or exc.status or "", provider)
        status = int(exc.code or 500)
        if status == 400 and "api key" in detail.lower():
            return ProviderAuthenticationFailed(f"{name} rejected the API key (HTTP 400): {detail}")
        return _from_status(status, detail, provider)
    if isinstance(exc, openai.OpenAIError | ValueError):
        return ProviderUnavailable(f"{name} sent an answer Docent could not read: {_scrub(str(exc), provider)}")
    return ProviderUnavailable(f"{name} failed: {type(exc).__name__}")


# ------------------------------------------------------------------------------------------ retries


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter: attempt 0 → ~base, capped."""
    base = float(getattr(settings, "PROVIDER_RETRY_BASE_SECONDS", 0.25))
    cap = float(getattr(settings, "PROVIDER_RETRY_MAX_SECONDS", 4.0))
    return float(min(cap, base * (2**attempt)) * random.uniform(0.5, 1.0))


def _retrying(provider: ChatbotProvider, call: Callable[[], Any]) -> Any:
    attempts = int(provider.max_retries) + 1
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            error = map_error(exc, provider)
            if not error.transient or attempt == attempts - 1:
                raise error from exc
            delay = backoff_delay(attempt)
            logger.info("provider %s: %s; retry %d in %.2fs", provider.pk, error.code, attempt + 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------- chat


def _openai_stream(
    provider: ChatbotProvider, messages: Sequence[ChatMessage], model: str, temperature: float, max_tokens: int
) -> Iterator[StreamEvent]:
    client = _client(provider)
    options: dict[str, Any] = {"stream_options": {"include_usage": True}, "temperature": temperature}
    if provider.kind == ProviderKind.OPENAI:
        options["max_completion_tokens"] = max_tokens
    else:
        options["max_tokens"] = max_tokens
    # The SDK sends the request and raises its typed errors; the SSE lines are read here, because building
    # the SDK's typed chunk objects costs about a millisecond per chunk on the answer's hot path.
    with client.chat.completions.with_streaming_response.create(
        model=model,
        messages=[{"role": m.role, "content": m.content} for m in messages],
        stream=True,
        **options,
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                for _ in lines:  # read to the end so the connection goes back to the pool
                    pass
                break
            chunk = json.loads(data)
            if chunk.get("error"):
                detail = _scrub(str(chunk["error"].get("message") or chunk["error"]), provider)
                raise ProviderUnavailable(f"{provider.name} reported an error while answering: {detail}")
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield TextDelta(text)
            usage = chunk.get("usage")
            if usage:
                yield Usage(
                    int(usage.get("prompt_tokens") or 0),
                    int(usage.get("completion_tokens") or 0),
                    str(chunk.get("model") or model),
                )


def _gemini_stream(
    provider: ChatbotProvider, messages: Sequence[ChatMessage], model: str, temperature: float, max_tokens: int
) -> Iterator[StreamEvent]:
    client = _client(provider)
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    contents = [
        genai_types.Content(role="model" if m.role == "assistant" else "user", parts=[genai_types.Part(text=m.content)])
        for m in messages
        if m.role != "system"
    ]
    config = genai_types.GenerateContentConfig(
        system_instruction=system or None, temperature=temperature, max_output_tokens=max_tokens
    )
    usage: Usage | None = None
    for chunk in client.models.generate_content_stream(model=model, contents=contents, config=config):
        for candidate in chunk.candidates or ():
            for part in (candidate.content.parts if candidate.content else None) or ():
                if part.text and not part.thought:
                    yield TextDelta(part.text)
        meta = chunk.usage_metadata
        if meta is not None:
            usage = Usage(meta.prompt_token_count or 0, meta.candidates_token_count or 0, chunk.model_version or model)
    if usage is not None:
        yield usage


def _offline_stream(messages: Sequence[ChatMessage], passages: Sequence[str], question: str) -> Iterator[StreamEvent]:
    question = question or next((m.content for m in reversed(messages) if m.role == "user"), "")
    answer = extractive_answer(question=question, passages=passages)
    words = answer.split(" ")
    for index, word in enumerate(words):
        yield TextDelta(word if index == 0 else f" {word}")
    prompt_tokens = sum(len(m.content.split()) for m in messages) + sum(len(p.split()) for p in passages)
    yield Usage(prompt_tokens, len(words) if answer else 0, OFFLINE_CHAT_MODEL)


def stream_chat(
    *,
    provider: ChatbotProvider | None,
    messages: Sequence[ChatMessage],
    model: str = "",
    temperature: float = 0.2,
    max_tokens: int = 800,
    passages: Sequence[str] = (),
    question: str = "",
) -> Iterator[StreamEvent]:
    """Yield TextDelta events, then one Usage. Raises ProviderError subclasses.

    `provider=None` is the built-in offline answerer. `passages` and `question` are only read by the
    offline kind (network models find both inside `messages`). Transient failures are retried before the first
    event only; after it, an error ends the stream.
    """
    if provider is None or provider.kind == ProviderKind.OFFLINE:
        yield from _offline_stream(messages, passages, question)
        return
    model = model or provider.default_chat_model
    if not model:
        raise ProviderMisconfigured(f"{provider.name} has no chat model: set a default chat model or the bot's model.")
    _check_outbound(provider)
    opener = _gemini_stream if provider.kind == ProviderKind.GEMINI else _openai_stream

    def first() -> tuple[Iterator[StreamEvent], StreamEvent | None]:
        iterator = opener(provider, messages, model, temperature, max_tokens)
        return iterator, next(iterator, None)

    iterator, head = _retrying(provider, first)
    if head is None:
        return
    yield head
    try:
        yield from iterator
    except Exception as exc:
        error = map_error(exc, provider)
        raise type(error)(f"{provider.name} stopped in the middle of the answer. {error.message}") from exc


# ----------------------------------------------------------------------------------------- embeddings

EMBED_BATCH = 128


def _offline_embed(texts: Sequence[str], dimensions: int) -> list[list[float]]:
    from apps.chatbot_provider.offline import hashing_embed  # type: ignore[import-not-found,unused-ignore]

    return list(hashing_embed(list(texts), dimensions=dimensions))


def _embed_batch(provider: ChatbotProvider, texts: list[str], model: str, dimensions: int) -> list[list[float]]:
    client = _client(provider)
    if provider.kind == ProviderKind.GEMINI:
        response = client.models.embed_content(
            model=model,
            # One Content per text: given bare strings, multimodal embedding models fold them into one vector.
            contents=[genai_types.Content(role="user", parts=[genai_types.Part(text=text)]) for text in texts],
            config=genai_types.EmbedContentConfig(output_dimensionality=dimensions),
        )
        vectors = [list(e.values or []) for e in response.embeddings or []]
    else:
        result = client.embeddings.create(model=model, input=texts, dimensions=dimensions)
        vectors = [list(item.embedding) for item in sorted(result.data, key=lambda item: item.index)]
    if len(vectors) != len(texts):
        raise ProviderUnavailable(f"{provider.name} returned {len(vectors)} embeddings for {len(texts)} texts.")
    for vector in vectors:
        if len(vector) != dimensions:
            raise ProviderBadRequest(
                f"{provider.name} model {model} returns {len(vector)}-dimensional vectors; "
                f"this deployment stores {dimensions}. Choose a model that supports {dimensions} dimensions."
            )
    return vectors


def embed_texts(*, provider: ChatbotProvider, texts: Sequence[str], model: str, dimensions: int) -> list[list[float]]:
    """Embed `texts` with `model`, asking the provider for `dimensions`-long vectors. Raises ProviderError."""
    if not texts:
        return []
    if provider.kind == ProviderKind.OFFLINE:
        return _offline_embed(texts, dimensions)
    model = model or provider.default_embedding_model
    if not model:
        raise ProviderMisconfigured(f"{provider.name} has no embedding model.")
    _check_outbound(provider)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH):
        batch = list(texts[start : start + EMBED_BATCH])
        vectors.extend(_retrying(provider, partial(_embed_batch, provider, batch, model, dimensions)))
    return vectors


def embed_query(*, provider: ChatbotProvider | None, text: str, model: str, dimensions: int) -> list[float]:
    if provider is None:
        return _offline_embed([text], dimensions)[0]
    return embed_texts(provider=provider, texts=[text], model=model, dimensions=dimensions)[0]


# ------------------------------------------------------------------------------------ test connection


def provider_test_connection(*, provider: ChatbotProvider) -> ConnectionTestResult:
    """Make one tiny real call and report success or the provider's error in plain words."""
    started = time.perf_counter()
    if provider.kind == ProviderKind.OFFLINE:
        return ConnectionTestResult(True, "The offline provider needs no network and is ready.", 0, OFFLINE_CHAT_MODEL)
    model = provider.default_chat_model or provider.default_embedding_model
    try:
        if provider.default_chat_model:
            stream = stream_chat(
                provider=provider,
                messages=[ChatMessage("user", "Reply with the word OK.")],
                model=provider.default_chat_model,
                max_tokens=5,
                temperature=0,
            )
            for _ in stream:
                break
        elif provider.default_embedding_model:
            embed_texts(
                provider=provider,
                texts=["connection test"],
                model=provider.default_embedding_model,
                dimensions=int(settings.EMBEDDING_DIMENSIONS),
            )
        else:
            raise ProviderMisconfigured("Set a default chat model or embedding model to test this provider.")
    except ProviderError as error:
        latency = int((time.perf_counter() - started) * 1000)
        return ConnectionTestResult(False, error.message, latency, model, error.code)
    latency = int((time.perf_counter() - started) * 1000)
    return ConnectionTestResult(True, f"Connected: {model} answered in {latency} ms.", latency, model)
