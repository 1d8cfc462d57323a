"""The offline kind: no network. Answers quote the best retrieved sentences (`extractive`), embeddings come from
the lexical hashing embedder (`apps.chatbot_provider.offline`). Also what runs when no provider is set."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from apps.chatbot_provider import offline
from apps.chatbot_provider.clients.protocol import ChatMessage, StreamEvent, TextDelta, Usage
from apps.chatbot_provider.extractive import extractive_answer
from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, OFFLINE_EMBEDDING_MODEL, ChatbotProvider


class OfflineClient:
    uses_network = False
    required_fields: Mapping[str, str] = {}
    default_chat_model = OFFLINE_CHAT_MODEL
    default_embedding_model = OFFLINE_EMBEDDING_MODEL

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
        """The extractive answer, word by word. `passages` and `question` are read here only: network models find
        both inside `messages`."""
        question = question or next((m.content for m in reversed(messages) if m.role == "user"), "")
        answer = extractive_answer(question=question, passages=passages)
        words = answer.split(" ")
        for index, word in enumerate(words):
            yield TextDelta(word if index == 0 else f" {word}")
        prompt_tokens = sum(len(m.content.split()) for m in messages) + sum(len(p.split()) for p in passages)
        yield Usage(prompt_tokens, len(words) if answer else 0, OFFLINE_CHAT_MODEL)

    def embed(
        self, provider: ChatbotProvider | None, texts: Sequence[str], *, model: str, dimensions: int
    ) -> list[list[float]]:
        return list(offline.hashing_embed(list(texts), dimensions=dimensions))
