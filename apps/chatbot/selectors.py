"""Reads of the chatbot app: bots, conversations and their messages, always within one organization."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.chatbot.models import Chatbot, Message
from common.core.errors import NotFound


def bot_list(*, organization: Any) -> QuerySet[Chatbot]:
    """The organization's bots by name, with their provider (the bots page)."""
    return Chatbot.objects.for_org(organization).select_related("provider").order_by("name")


def bot_get(*, organization: Any, bot_id: Any) -> Chatbot:
    bot = Chatbot.objects.for_org(organization).filter(pk=bot_id).first()
    if bot is None:
        raise NotFound("Bot not found.")
    return bot


def conversation_messages(*, organization: Any, conversation: Any) -> QuerySet[Message]:
    """A conversation's messages with their feedback (paginate or order as the caller needs)."""
    return Message.objects.for_org(organization).filter(conversation=conversation).select_related("feedback")


def message_get(*, organization: Any, message_id: Any) -> Message:
    """One message with its conversation (feedback checks the conversation's bot)."""
    message = Message.objects.for_org(organization).select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise NotFound("Message not found.")
    return message
