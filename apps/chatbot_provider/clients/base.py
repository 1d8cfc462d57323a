"""What the adapters that call a provider over the network share: the base URL check before each call, cached SDK
clients, timeouts, typed errors, and bounded retries with jittered backoff before the first streamed token.

SDK retries are off; Docent retries 429/5xx/timeouts itself, and only before the first streamed token, so a retry
never duplicates output. Every SDK failure becomes a typed error from `errors.py`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import httpx
import httpx2  # the transport of the openai and google-genai SDKs
from django.conf import settings

from apps.chatbot_provider.clients.protocol import ChatMessage, StreamEvent
from apps.chatbot_provider.errors import (
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderMisconfigured,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.url_safety import check_base_url
from common.security.encryption import mask

logger = logging.getLogger(__name__)

T = TypeVar("T")

EMBED_BATCH = 128

# ------------------------------------------------------------------------------------- SDK clients

_CLIENTS: OrderedDict[str, Any] = OrderedDict()
_CLIENTS_LOCK = threading.Lock()
_MAX_CLIENTS = 128
# One lock per configuration whose client is being built: building one costs about 20 ms of CPU (the SDK's HTTP
# client and its TLS context), and the first answers after a start often arrive together.
_BUILDING: dict[str, threading.Lock] = {}


def _cached_client(key: str) -> Any:
    """The cached client of a configuration, marked as just used, or None (call with _CLIENTS_LOCK held)."""
    client = _CLIENTS.get(key)
    if client is not None:
        _CLIENTS.move_to_end(key)
    return client


def _client_key(provider: ChatbotProvider) -> str:
    return hashlib.sha256(
        "|".join(
            [str(provider.pk), provider.kind, provider.base_url, provider.api_key, str(provider.timeout_seconds)]
        ).encode()
    ).hexdigest()


def read_and_connect_timeouts(provider: ChatbotProvider) -> tuple[float, float]:
    """The provider's read timeout, and the connect timeout (PROVIDER_CONNECT_TIMEOUT_SECONDS, never longer)."""
    read = float(provider.timeout_seconds)
    connect = min(read, float(getattr(settings, "PROVIDER_CONNECT_TIMEOUT_SECONDS", 5.0)))
    return read, connect


# ------------------------------------------------------------------------------------- error mapping


def scrub(text: str, provider: ChatbotProvider) -> str:
    """A provider's message fit to repeat: one line, bounded, never an error page, the API key masked."""
    text = " ".join(str(text).split())[:500]
    if "<" in text and ">" in text:
        return ""  # markup: an error page, not a provider's message; it is not repeated
    if provider.api_key and len(provider.api_key) >= 4:
        text = text.replace(provider.api_key, mask(provider.api_key))
    return text


def error_from_status(status: int, detail: str, provider: ChatbotProvider) -> ProviderError:
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


# ------------------------------------------------------------------------------------------ retries


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter: attempt 0 → ~base, capped."""
    base = float(getattr(settings, "PROVIDER_RETRY_BASE_SECONDS", 0.25))
    cap = float(getattr(settings, "PROVIDER_RETRY_MAX_SECONDS", 4.0))
    return float(min(cap, base * (2**attempt)) * random.uniform(0.5, 1.0))


# ------------------------------------------------------------------------------------------ adapter


class NetworkClient:
    """Base of the adapters that call a provider's server. A subclass builds its SDK client, opens a stream,
    embeds one batch, and maps its SDK's exceptions; everything else (model defaults, the base URL check,
    retries, batching, checking the vectors) is done here, the same way for every kind."""

    uses_network = True
    required_fields: Mapping[str, str] = {}
    default_chat_model = ""
    default_embedding_model = ""

    # ------------------------------------------------------------------ what each adapter implements

    def build_sdk_client(self, provider: ChatbotProvider) -> Any:
        raise NotImplementedError

    def open_stream(
        self,
        provider: ChatbotProvider,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
    ) -> Iterator[StreamEvent]:
        raise NotImplementedError

    def embed_batch(self, provider: ChatbotProvider, texts: list[str], *, model: str, dimensions: int) -> list[Any]:
        """The vectors the provider returned for `texts`, unchecked."""
        raise NotImplementedError

    def map_sdk_error(self, exc: BaseException, provider: ChatbotProvider) -> ProviderError | None:
        """The typed error for one of this SDK's exceptions; None for anything else."""
        return None

    # ------------------------------------------------------------------------------- shared behaviour

    def sdk_client(self, provider: ChatbotProvider) -> Any:
        """A cached SDK client per provider configuration (connection pools are reused between requests)."""
        key = _client_key(provider)
        with _CLIENTS_LOCK:
            client = _cached_client(key)
            if client is not None:
                return client
            building = _BUILDING.setdefault(key, threading.Lock())
        # One thread builds a configuration's client; the others asking for it meanwhile wait and use it.
        with building:
            with _CLIENTS_LOCK:
                client = _cached_client(key)
            if client is not None:
                return client
            try:
                client = self.build_sdk_client(provider)
            finally:
                with _CLIENTS_LOCK:
                    _BUILDING.pop(key, None)
            with _CLIENTS_LOCK:
                _CLIENTS[key] = client
                while len(_CLIENTS) > _MAX_CLIENTS:
                    _CLIENTS.popitem(last=False)
        return client

    def map_error(self, exc: BaseException, provider: ChatbotProvider) -> ProviderError:
        """Translate any SDK or transport exception into one typed ProviderError."""
        if isinstance(exc, ProviderError):
            return exc
        error = self.map_sdk_error(exc, provider)
        if error is not None:
            return error
        name = provider.name
        if isinstance(exc, httpx2.TimeoutException | httpx.TimeoutException | TimeoutError):
            return ProviderTimeout(f"{name} did not answer within {provider.timeout_seconds:g} seconds.")
        if isinstance(exc, httpx2.TransportError | httpx.TransportError | ConnectionError):
            return ProviderUnavailable(f"Could not reach {name}: {scrub(str(exc) or type(exc).__name__, provider)}")
        if isinstance(exc, ValueError):
            return ProviderUnavailable(f"{name} sent an answer Docent could not read: {scrub(str(exc), provider)}")
        return ProviderUnavailable(f"{name} failed: {type(exc).__name__}")

    def retrying(self, provider: ChatbotProvider, call: Callable[[], T]) -> T:
        attempts = int(provider.max_retries) + 1
        for attempt in range(attempts):
            try:
                return call()
            except Exception as exc:
                error = self.map_error(exc, provider)
                if not error.transient or attempt == attempts - 1:
                    raise error from exc
                delay = backoff_delay(attempt)
                logger.info("provider %s: %s; retry %d in %.2fs", provider.pk, error.code, attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def stream_chat(
        self,
        provider: ChatbotProvider | None,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        passages: Sequence[str],
        question: str,
    ) -> Iterator[StreamEvent]:
        provider = _required(provider)
        model = model or provider.default_chat_model
        if not model:
            raise ProviderMisconfigured(
                f"{provider.name} has no chat model: set a default chat model or the bot's model."
            )
        _check_outbound(provider)

        def first() -> tuple[Iterator[StreamEvent], StreamEvent | None]:
            iterator = self.open_stream(provider, messages, model=model, temperature=temperature, max_tokens=max_tokens)
            return iterator, next(iterator, None)

        iterator, head = self.retrying(provider, first)
        if head is None:
            return
        yield head
        try:
            yield from iterator
        except Exception as exc:
            error = self.map_error(exc, provider)
            raise type(error)(f"{provider.name} stopped in the middle of the answer. {error.message}") from exc

    def embed(
        self, provider: ChatbotProvider | None, texts: Sequence[str], *, model: str, dimensions: int
    ) -> list[list[float]]:
        provider = _required(provider)
        model = model or provider.default_embedding_model
        if not model:
            raise ProviderMisconfigured(f"{provider.name} has no embedding model.")
        _check_outbound(provider)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = list(texts[start : start + EMBED_BATCH])
            vectors.extend(self.retrying(provider, partial(self._embed_checked, provider, batch, model, dimensions)))
        return vectors

    def _embed_checked(
        self, provider: ChatbotProvider, texts: list[str], model: str, dimensions: int
    ) -> list[list[float]]:
        vectors = self.embed_batch(provider, texts, model=model, dimensions=dimensions)
        if len(vectors) != len(texts):
            raise ProviderUnavailable(f"{provider.name} returned {len(vectors)} embeddings for {len(texts)} texts.")
        for vector in vectors:
            if len(vector) != dimensions:
                raise ProviderBadRequest(
                    f"{provider.name} model {model} returns {len(vector)}-dimensional vectors; "
                    f"this deployment stores {dimensions}. Choose a model that supports {dimensions} dimensions."
                )
        return vectors


def _required(provider: ChatbotProvider | None) -> ChatbotProvider:
    if provider is None:
        raise ProviderMisconfigured("No provider is set for a call that needs a model server.")
    return provider


def _check_outbound(provider: ChatbotProvider) -> None:
    if provider.base_url:
        check_base_url(provider.base_url)
