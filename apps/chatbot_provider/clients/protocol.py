"""What every provider adapter speaks: the messages going in, the events coming out, and the ChatClient protocol."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from apps.chatbot_provider.models import ChatbotProvider

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


class ChatClient(Protocol):
    """One adapter per provider kind. `provider` is None only for the built-in offline adapter."""

    # False: the kind calls no server (no base URL check, nothing for "Test connection" to reach).
    uses_network: bool
    # Fields a provider of this kind must set, each with the message shown when it is missing.
    required_fields: Mapping[str, str]
    # Models filled in when the provider leaves its defaults empty.
    default_chat_model: str
    default_embedding_model: str

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
        """Yield TextDelta events, then one Usage. Raises ProviderError subclasses."""
        ...

    def embed(
        self, provider: ChatbotProvider | None, texts: Sequence[str], *, model: str, dimensions: int
    ) -> list[list[float]]:
        """One `dimensions`-long vector per text (`texts` is never empty). Raises ProviderError subclasses."""
        ...
