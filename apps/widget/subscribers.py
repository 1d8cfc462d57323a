"""Doorbells for widget conversations: visitors' sockets and members' inboxes hear that something changed.

A ring carries ids and a seq only; sockets read what changed from PostgreSQL (as apps.chat does), so a lost
ring costs latency, never a message. Visitors are rung on their own group; members (who may act as agents,
docs/roles.md) on their organization's group, which every member's `/ws/` socket joins.
"""

from __future__ import annotations

from typing import Any

from apps.chat.consumers import organization_group
from apps.chat.subscribers import ring
from apps.chatbot.models import Conversation
from apps.widget.models import HandoffState, WidgetConversation
from common.events import DomainEvent, EventType, subscribe


def visitor_group(visitor_pk: Any) -> str:
    return f"widget.visitor.{visitor_pk}"


def _widget_conversation(event: DomainEvent) -> WidgetConversation | None:
    return (
        WidgetConversation.objects.for_org(event.organization_id)
        .filter(conversation_id=event.payload["conversation_id"])
        .only("id", "visitor_id", "state", "conversation_id")
        .first()
    )


def ring_widget_message(event: DomainEvent) -> None:
    """A message in a widget conversation: its visitor's sockets read it; while people hold the conversation,
    members' inboxes hear of it too."""
    if event.payload.get("kind") not in (None, "bot"):
        return  # a room message
    if event.payload.get("source", Conversation.Source.WIDGET) != Conversation.Source.WIDGET:
        return  # a conversation of another door (the API, the web UI, the OpenAI-compatible endpoint)
    conversation = _widget_conversation(event)
    if conversation is None:
        return
    conversation_id = str(conversation.conversation_id)
    seq = event.payload.get("seq")
    ring(
        visitor_group(conversation.visitor_id), {"type": "widget.message", "conversation": conversation_id, "seq": seq}
    )
    if conversation.state in (HandoffState.WAITING, HandoffState.WITH_AGENT):
        ring(
            organization_group(event.organization_id),
            {
                "type": "handoff.changed",
                "organization": str(event.organization_id),
                "event": "handoff.message",
                "conversation": conversation_id,
                "state": conversation.state,
                "seq": seq,
            },
        )


def ring_handoff(event: DomainEvent) -> None:
    conversation = _widget_conversation(event)
    if conversation is None:
        return
    conversation_id = str(conversation.conversation_id)
    ring(visitor_group(conversation.visitor_id), {"type": "widget.state", "conversation": conversation_id})
    ring(
        organization_group(event.organization_id),
        {
            "type": "handoff.changed",
            "organization": str(event.organization_id),
            "event": event.type,
            "conversation": conversation_id,
            "state": event.payload.get("state"),
            "agent": event.payload.get("agent_id"),
        },
    )


def connect() -> None:
    subscribe(EventType.MESSAGE_CREATED, ring_widget_message)
    for event_type in (EventType.HANDOFF_REQUESTED, EventType.HANDOFF_ASSIGNED, EventType.HANDOFF_RESOLVED):
        subscribe(event_type, ring_handoff)
