"""Feedback on answers and conversation export."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.chatbot.models import Conversation, Feedback, Message
from apps.organizations.actors import Actor
from common.core.errors import ValidationFailed
from common.events import EventType, emit


@transaction.atomic
def feedback_give(*, actor: Actor, message: Message, rating: str, comment: str = "") -> Feedback:
    """Thumbs up or down on an answer; giving it again replaces the earlier one."""
    if message.role != Message.Role.ASSISTANT:
        raise ValidationFailed("Feedback is for the bot's answers.", details={"message": ["Not an answer."]})
    feedback, _ = Feedback.objects.for_org(message.organization_id).update_or_create(
        message=message,
        defaults={
            "organization_id": message.organization_id,
            "rating": rating,
            "comment": comment.strip(),
            "user": actor.user,
        },
    )
    emit(
        EventType.FEEDBACK_GIVEN,
        organization=message.organization_id,
        payload={
            "feedback_id": str(feedback.pk),
            "message_id": str(message.pk),
            "conversation_id": str(message.conversation_id),
            "rating": feedback.rating,
        },
    )
    return feedback


def conversation_export(*, conversation: Conversation) -> dict[str, Any]:
    """The whole conversation as one JSON-ready document."""
    messages = (
        Message.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation)
        .select_related("feedback")
        .order_by("created_at")
    )
    exported = []
    for message in messages:
        feedback = getattr(message, "feedback", None)
        exported.append(
            {
                "id": str(message.pk),
                "role": message.role,
                "content": message.content,
                "status": message.status,
                "created_at": message.created_at.isoformat(),
                "citations": message.citations,
                "model": message.model,
                "usage": {"prompt_tokens": message.prompt_tokens, "completion_tokens": message.completion_tokens},
                "latency_ms": {
                    "retrieval": message.retrieval_ms,
                    "first_token": message.ttft_ms,
                    "total": message.total_ms,
                },
                "error": {"code": message.error_code, "message": message.error_message} if message.error_code else None,
                "feedback": {"rating": feedback.rating, "comment": feedback.comment} if feedback else None,
            }
        )
    return {
        "conversation": {
            "id": str(conversation.pk),
            "bot": {"id": str(conversation.bot_id), "name": conversation.bot.name},
            "title": conversation.title,
            "source": conversation.source,
            "created_at": conversation.created_at.isoformat(),
            "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
        },
        "messages": exported,
    }
