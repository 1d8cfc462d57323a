"""Conversations for every door (ADR 0023): opening a bot conversation with its participants, who a message
is from, feedback on answers, and export."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.chatbot.models import Chatbot, Conversation, Feedback, Message, Participant, SenderKind
from apps.organizations.actors import Actor, ActorKind
from common.core.errors import ValidationFailed
from common.core.inserts import insert_rows
from common.events import EventType, emit

_SENDER_KIND = {
    ActorKind.USER: SenderKind.USER,
    ActorKind.API_KEY: SenderKind.API_KEY,
    ActorKind.VISITOR: SenderKind.VISITOR,
    ActorKind.ANONYMOUS: SenderKind.VISITOR,
    ActorKind.SYSTEM: SenderKind.SYSTEM,
}


def message_sender(actor: Actor | None) -> dict[str, Any]:
    """The sender fields of a message `actor` writes (no actor: the system, e.g. a job or the demo data)."""
    if actor is None:
        return {"sender_kind": SenderKind.SYSTEM}
    return {
        "sender_kind": _SENDER_KIND[ActorKind(actor.kind)],
        "sender_user": actor.user,
        "sender_visitor_id": actor.visitor_id,
        "sender_api_key_id": actor.api_key_id,
    }


def bot_conversation_rows(
    *, bot: Chatbot, actor: Actor | None, title: str, source: str
) -> tuple[Conversation, list[Participant]]:
    """A new conversation with `bot`, unsaved: the bot takes part, and so does the member or widget visitor who
    opened it (as its owner); an API client is recorded on its messages, not as a participant."""
    user = actor.user if actor is not None and getattr(actor.user, "is_authenticated", False) else None
    visitor_id = actor.visitor_id if actor is not None and actor.kind == ActorKind.VISITOR else ""
    now = timezone.now()
    conversation = Conversation(
        organization_id=bot.organization_id,
        kind=Conversation.Kind.BOT,
        bot=bot,
        user=user,
        visitor_id=visitor_id,
        title=title,
        source=source,
        last_message_at=now,
    )
    participants = [Participant(kind=Participant.Kind.BOT, bot=bot)]
    if user is not None:
        participants.append(Participant(kind=Participant.Kind.USER, user=user, role=Participant.Role.OWNER))
    elif visitor_id:
        participants.append(
            Participant(kind=Participant.Kind.VISITOR, visitor_id=visitor_id, role=Participant.Role.OWNER)
        )
    for participant in participants:
        participant.organization_id = bot.organization_id
        participant.conversation = conversation
        participant.joined_at = now
    return conversation, participants


def bot_conversation_opened(conversation: Conversation) -> None:
    """Tell subscribers about a bot conversation just saved."""
    emit(
        EventType.CONVERSATION_CREATED,
        organization=conversation.organization_id,
        payload={
            "conversation_id": str(conversation.pk),
            "kind": conversation.kind,
            "bot_id": str(conversation.bot_id),
            "source": conversation.source,
        },
    )


def bot_conversation_open(*, bot: Chatbot, actor: Actor | None, title: str, source: str) -> Conversation:
    """A new conversation with `bot`, saved with its participants (see `bot_conversation_rows`)."""
    conversation, participants = bot_conversation_rows(bot=bot, actor=actor, title=title, source=source)
    insert_rows(conversation, *participants)
    bot_conversation_opened(conversation)
    return conversation


def message_event_payload(message: Message, *, source: str = "") -> dict[str, Any]:
    """What subscribers (realtime doorbells, webhooks) hear about a saved message: ids, its seq and sender, and
    the conversation's door (`source`) when the caller has the conversation at hand (so that a subscriber
    interested in one door only, the widget's, need not read the conversation)."""
    payload = {
        "conversation_id": str(message.conversation_id),
        "message_id": str(message.pk),
        "seq": message.seq,
        "role": message.role,
        "status": message.status,
        "sender_kind": message.sender_kind,
    }
    if source:
        payload["source"] = source
    return payload


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
        EventType.FEEDBACK_CREATED,
        organization=message.organization_id,
        payload={
            "feedback_id": str(feedback.pk),
            "message_id": str(message.pk),
            "conversation_id": str(message.conversation_id),
            "rating": feedback.rating,
        },
    )
    return feedback


def message_sender_summary(message: Message) -> dict[str, Any]:
    """Who wrote a message, for the API and the export: its kind and the id of the member, bot, widget
    visitor or API key (null when unknown or deleted)."""
    identity: Any = {
        SenderKind.USER: message.sender_user_id,
        SenderKind.BOT: message.sender_bot_id,
        SenderKind.VISITOR: message.sender_visitor_id or None,
        SenderKind.API_KEY: message.sender_api_key_id,
    }.get(SenderKind(message.sender_kind))
    return {"kind": message.sender_kind, "id": str(identity) if identity is not None else None}


def conversation_export(*, conversation: Conversation) -> dict[str, Any]:
    """The whole conversation as one JSON-ready document, messages in their sequence."""
    messages = (
        Message.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation)
        .select_related("feedback")
        .order_by("seq")
    )
    exported = []
    for message in messages:
        feedback = getattr(message, "feedback", None)
        exported.append(
            {
                "id": str(message.pk),
                "seq": message.seq,
                "sender": message_sender_summary(message),
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
    bot = conversation.bot
    return {
        "conversation": {
            "id": str(conversation.pk),
            "kind": conversation.kind,
            "bot": {"id": str(bot.pk), "name": bot.name} if bot is not None else None,
            "title": conversation.title,
            "source": conversation.source,
            "created_at": conversation.created_at.isoformat(),
            "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
        },
        "messages": exported,
    }
