"""What an OpenAI chat completion request asks of a bot, checked the way OpenAI's API checks it.

`completion_request_parse` turns the validated body into the question (the last user message), the caller's
earlier user and assistant messages (the prompt's history) and the generation options the bot allows. The
turn itself starts in apps.chatbot.services.turns.chat_turn_open, like every other door's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.chatbot.models import Chatbot
from apps.openai_compat.errors import CompletionInvalid

MAX_MESSAGES = 100
# Roles whose messages frame the conversation: the bot's own instructions stand, so these are dropped.
INSTRUCTION_ROLES = ("system", "developer")
CONVERSATION_ROLES = ("user", "assistant")


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    question: str
    history: list[dict[str, str]]
    stream: bool
    include_usage: bool
    temperature: float | None
    max_tokens: int | None


def _text_of(content: Any, param: str) -> str:
    """A message's text: a string, or the text parts of a content array (other parts are refused)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for index, part in enumerate(content):
            if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise CompletionInvalid(
                    "Only text content parts are supported.", param=f"{param}[{index}]", code="unsupported_content"
                )
            texts.append(part["text"])
        return "\n".join(texts)
    raise CompletionInvalid("Message content must be a string or an array of text parts.", param=param)


def completion_request_parse(data: Mapping[str, Any]) -> CompletionRequest:
    """The question, history and options of a validated chat completion body; 400 (CompletionInvalid) for what
    Docent's bots cannot do: several choices, tools, no user message last, too many or too long messages."""
    if data.get("n") not in (None, 1):
        raise CompletionInvalid("Only one choice (n=1) is supported.", param="n", code="unsupported_value")
    for name in ("tools", "functions"):
        if data.get(name):
            raise CompletionInvalid(
                "Bots answer from their documents; tools are not supported.", param=name, code="unsupported_parameter"
            )
    messages: Sequence[Mapping[str, Any]] = data["messages"]
    if not messages:
        raise CompletionInvalid("`messages` must contain at least one user message.", param="messages")
    if len(messages) > MAX_MESSAGES:
        raise CompletionInvalid(
            f"Too many messages ({len(messages)}; at most {MAX_MESSAGES}).", param="messages", code="too_many_messages"
        )
    limit = int(settings.CHAT_MAX_MESSAGE_CHARS)
    conversation: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        role = message["role"]
        text = _text_of(message.get("content"), f"{param}.content")
        if role not in INSTRUCTION_ROLES + CONVERSATION_ROLES:
            raise CompletionInvalid(
                f"Messages with the role `{role}` are not supported.", param=f"{param}.role", code="unsupported_value"
            )
        if len(text) > limit:
            raise CompletionInvalid(
                f"Message {index} is too long ({len(text)} characters; at most {limit}).",
                param=f"{param}.content",
                code="message_too_long",
            )
        if role in CONVERSATION_ROLES:
            conversation.append({"role": role, "content": text})
    if not conversation or conversation[-1]["role"] != "user" or not conversation[-1]["content"].strip():
        raise CompletionInvalid(
            "The last message (other than system messages) must be a user message with some text.",
            param="messages",
            code="no_user_message",
        )
    stream_options = data.get("stream_options") or {}
    max_tokens = data.get("max_completion_tokens") or data.get("max_tokens")
    return CompletionRequest(
        model=str(data["model"]),
        question=conversation[-1]["content"],
        history=conversation[:-1],
        stream=bool(data.get("stream")),
        include_usage=bool(stream_options.get("include_usage")),
        temperature=data.get("temperature"),
        max_tokens=max_tokens,
    )


def generation_limits_apply(*, bot: Chatbot, temperature: float | None, max_tokens: int | None) -> None:
    """Lower the turn's bot to what the caller asked, never above the bot's own settings: its temperature and
    answer length are ceilings. `bot` is the instance chat_turn_open loaded for this turn only; it is not saved."""
    if temperature is not None:
        bot.temperature = max(0.0, min(float(temperature), bot.temperature))
    if max_tokens is not None:
        bot.max_answer_tokens = max(1, min(int(max_tokens), bot.max_answer_tokens))
