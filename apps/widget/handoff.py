"""Human handoff: the state machine of a widget conversation, one atomic, audited service per transition.

    bot ──request──▶ waiting ──claim──▶ with_agent ──resolve──▶ resolved
     ▲                  │                   │
     └──────release─────┴───────────────────┘        (resolve also closes a waiting request)

Each transition locks the conversation's row (select_for_update), refuses a move the current state does not
allow with 409 `handoff_state_conflict` (details.state says where it is), writes an audit record and emits
`handoff.requested`, `handoff.assigned` or `handoff.resolved` (with `outcome`: released or resolved). While a
person holds the conversation (waiting, with_agent) the bot does not answer (apps.widget.services).
Which members may act as agents: docs/roles.md.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.chatbot.models import Message
from apps.chatbot.services.conversations import message_event_payload, message_sender
from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.widget.errors import HandoffConflict, HandoffUnavailable
from apps.widget.models import HandoffState, WidgetConversation
from apps.widget.services import VisitorContext, visitor_conversation, widget_conversation_start
from common.core.errors import NotFound, PermissionDeniedError, ValidationFailed
from common.events import EventType, emit

State = HandoffState
AGENT_MESSAGE_MAX_CHARS = 4000


def _locked(*, actor: Actor, conversation_id: Any) -> WidgetConversation:
    conversation = (
        WidgetConversation.objects.for_org(actor.org)
        .select_for_update(of=("self",))
        .select_related("conversation", "bot", "visitor", "agent")
        .filter(conversation_id=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound("Conversation not found.")
    return conversation


def _move(
    conversation: WidgetConversation,
    *,
    actor: Actor,
    allowed_from: tuple[State, ...],
    to: State,
    action: AuditAction,
    event: EventType,
    outcome: str = "",
) -> WidgetConversation:
    if conversation.state not in allowed_from:
        raise HandoffConflict(
            f"The conversation is {State(conversation.state).label.lower()}; it cannot move to "
            f"{State(to).label.lower()} from there.",
            state=conversation.state,
        )
    previous = conversation.state
    now = timezone.now()
    conversation.state, conversation.state_changed_at = to, now
    if to == State.WAITING:
        conversation.requested_at, conversation.agent = now, None
    elif to == State.WITH_AGENT:
        conversation.agent = actor.user
    conversation.save(update_fields=["state", "state_changed_at", "requested_at", "agent", "updated_at"])
    conversation.conversation.handoff_state = to
    conversation.conversation.save(update_fields=["handoff_state", "updated_at"])
    data = {"from": previous, "to": to.value, **({"outcome": outcome} if outcome else {})}
    audit_record(actor=actor, action=action, target=conversation.conversation, data=data)
    payload = {
        "conversation_id": str(conversation.conversation_id),
        "bot_id": str(conversation.bot_id),
        "visitor_id": conversation.visitor.public_id,
        "state": to.value,
        "previous_state": previous,
        "agent_id": str(conversation.agent_id) if conversation.agent_id else None,
        **({"outcome": outcome} if outcome else {}),
    }
    emit(event, organization=conversation.organization_id, payload=payload)
    return conversation


@transaction.atomic
def handoff_request(*, context: VisitorContext) -> WidgetConversation:
    """The visitor asks for a person: bot (or resolved) → waiting. 409 handoff_unavailable when the bot does not
    hand over; asking again while waiting or with a person is a 409 too."""
    if not context.bot.handoff_enabled:
        raise HandoffUnavailable()
    current = visitor_conversation(visitor=context.visitor)
    if current is None:
        current = widget_conversation_start(context=context, title="Asked for a person")
    conversation = _locked(actor=context.actor, conversation_id=current.conversation_id)
    return _move(
        conversation,
        actor=context.actor,
        allowed_from=(State.BOT, State.RESOLVED),
        to=State.WAITING,
        action=AuditAction.HANDOFF_REQUESTED,
        event=EventType.HANDOFF_REQUESTED,
    )


@transaction.atomic
def handoff_claim(*, actor: Actor, conversation_id: Any) -> WidgetConversation:
    """A member takes a waiting conversation: waiting → with_agent (one member wins a race; the other gets 409)."""
    return _move(
        _locked(actor=actor, conversation_id=conversation_id),
        actor=actor,
        allowed_from=(State.WAITING,),
        to=State.WITH_AGENT,
        action=AuditAction.HANDOFF_CLAIMED,
        event=EventType.HANDOFF_ASSIGNED,
    )


def _require_holder(conversation: WidgetConversation, actor: Actor) -> None:
    if conversation.state != State.WITH_AGENT:
        raise HandoffConflict("Claim the conversation first.", state=conversation.state)
    if conversation.agent_id != actor.user_id:
        raise PermissionDeniedError(
            "Another member holds this conversation.", details={"reason": "held_by_another_member"}
        )


def _hand_back(
    *, actor: Actor, conversation_id: Any, to: State, action: AuditAction, outcome: str
) -> WidgetConversation:
    conversation = _locked(actor=actor, conversation_id=conversation_id)
    if conversation.state == State.WITH_AGENT:
        _require_holder(conversation, actor)
    return _move(
        conversation,
        actor=actor,
        allowed_from=(State.WAITING, State.WITH_AGENT),
        to=to,
        action=action,
        event=EventType.HANDOFF_RESOLVED,
        outcome=outcome,
    )


@transaction.atomic
def handoff_release(*, actor: Actor, conversation_id: Any) -> WidgetConversation:
    """Back to the bot: with_agent (by its holder) or waiting → bot. What the member wrote stays in the history
    the bot reads."""
    return _hand_back(
        actor=actor,
        conversation_id=conversation_id,
        to=State.BOT,
        action=AuditAction.HANDOFF_RELEASED,
        outcome="released",
    )


@transaction.atomic
def handoff_resolve(*, actor: Actor, conversation_id: Any) -> WidgetConversation:
    """Done: with_agent (by its holder) or waiting → resolved. A later visitor message goes to the bot again."""
    return _hand_back(
        actor=actor,
        conversation_id=conversation_id,
        to=State.RESOLVED,
        action=AuditAction.HANDOFF_RESOLVED,
        outcome="resolved",
    )


@transaction.atomic
def handoff_reply(*, actor: Actor, conversation_id: Any, text: Any, client_msg_id: str = "") -> Message:
    """The holding member writes to the visitor. Stored as an answer in the conversation (so the bot reads it as
    part of the history after release) with the member as its sender."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("The message is empty.", details={"text": ["Write a message."]})
    if len(text.strip()) > AGENT_MESSAGE_MAX_CHARS:
        raise ValidationFailed(details={"text": [f"At most {AGENT_MESSAGE_MAX_CHARS} characters."]})
    conversation = _locked(actor=actor, conversation_id=conversation_id)
    if client_msg_id:
        earlier = (
            Message.objects.for_org(actor.org)
            .filter(conversation_id=conversation.conversation_id, sender_user=actor.user, client_msg_id=client_msg_id)
            .first()
        )
        if earlier is not None:
            return earlier
    _require_holder(conversation, actor)
    message = Message.objects.create(
        organization_id=conversation.organization_id,
        conversation_id=conversation.conversation_id,
        role=Message.Role.ASSISTANT,
        content=text.strip(),
        client_msg_id=client_msg_id,
        **message_sender(actor),
    )
    emit(EventType.MESSAGE_CREATED, organization=conversation.organization_id, payload=message_event_payload(message))
    return message
