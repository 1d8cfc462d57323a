"""Widget sessions and a visitor's messages: the writes behind /widget/v1/ (docs/widget.md, "Widget API").

`widget_session_open` checks the publishable key, the page's origin and (when given or required) the
customer-signed identity, finds or makes the visitor and issues a visitor token. `visitor_authenticate`
re-checks a token and its origin on every later call, REST or WebSocket. `widget_message_send` applies the
limits, then either starts a bot turn through `chat_turn_open` or, while a person holds the conversation,
stores the visitor's message for them with the bot kept silent.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.chatbot.models import Chatbot, Conversation, Message, Participant
from apps.chatbot.services.answer import ChatTurn
from apps.chatbot.services.conversations import feedback_give, message_event_payload, message_sender
from apps.chatbot.services.turns import chat_turn_open
from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.widget import limits
from apps.widget.errors import (
    IdentityRequired,
    InvalidVisitorToken,
    OriginNotAllowed,
    UnknownBot,
    WrongBot,
)
from apps.widget.models import HandoffState, Visitor, WidgetConversation
from apps.widget.origins import origin_allowed, origin_normalize
from apps.widget.tokens import identity_verify, key_tag, visitor_token_issue, visitor_token_read
from common.core.errors import NotFound, ValidationFailed
from common.events import EventType, emit
from common.security.tokens import token_hash

RESUME_PREFIX = "wr_"
HUMAN_STATES = (HandoffState.WAITING, HandoffState.WITH_AGENT)


@dataclass(frozen=True)
class WidgetSession:
    token: str
    expires_in: int
    bot: Chatbot
    visitor: Visitor
    resume: str
    conversation: WidgetConversation | None


@dataclass(frozen=True)
class VisitorContext:
    """Who is calling the widget API: the bot, the visitor, the checked origin, and the visitor's Actor."""

    bot: Chatbot
    visitor: Visitor
    origin: str
    actor: Actor


def _bot_by_key(key: Any) -> Chatbot:
    if not isinstance(key, str) or not key.startswith("pk_") or len(key) > 64:
        raise UnknownBot()
    bot = Chatbot.objects.unscoped().select_related("organization").filter(publishable_key=key).first()
    if bot is None:
        raise UnknownBot()
    return bot


def _new_resume(visitor: Visitor) -> str:
    secret = f"{RESUME_PREFIX}{secrets.token_urlsafe(32)}"
    visitor.resume_hash = token_hash(secret)
    return secret


def _visitor_new(bot: Chatbot, **fields: Any) -> tuple[Visitor, str]:
    visitor = Visitor(
        organization_id=bot.organization_id, bot=bot, public_id=f"v_{secrets.token_urlsafe(12)}", **fields
    )
    resume = _new_resume(visitor)
    visitor.save()
    return visitor, resume


def _verified_visitor(bot: Chatbot, identity: str, resume: str) -> tuple[Visitor, str]:
    claims = identity_verify(
        token=identity, secret=bot.identity_secret, bot_id=bot.pk, publishable_key=bot.publishable_key
    )
    visitors = Visitor.objects.for_org(bot.organization_id).select_for_update()
    visitor = visitors.filter(bot=bot, external_id=claims.external_id).first()
    if visitor is None:
        try:
            with transaction.atomic():
                visitor, secret = _visitor_new(
                    bot, external_id=claims.external_id, name=claims.name, email=claims.email
                )
        except IntegrityError:  # the same person opened a session on another device at the same moment
            visitor = visitors.get(bot=bot, external_id=claims.external_id)
        else:
            _adopt_anonymous(bot, resume, visitor)
            return visitor, secret
    visitor.name, visitor.email = claims.name or visitor.name, claims.email or visitor.email
    if resume and visitor.resume_hash == token_hash(resume):
        return visitor, resume
    _adopt_anonymous(bot, resume, visitor)
    return visitor, _new_resume(visitor)


def _adopt_anonymous(bot: Chatbot, resume: str, visitor: Visitor) -> None:
    """A visitor who chatted anonymously and then signed in on the customer's site keeps that conversation: the
    browser's resume secret proves it was theirs, the identity proves who they are. The anonymous visitor's
    conversations become the verified visitor's, and the anonymous visitor is no more."""
    if not resume:
        return
    organization = bot.organization_id
    anonymous = (
        Visitor.objects.for_org(organization)
        .select_for_update()
        .filter(bot=bot, resume_hash=token_hash(resume), external_id="")
        .first()
    )
    if anonymous is None:
        return
    adopted = WidgetConversation.objects.for_org(organization).filter(visitor=anonymous)
    ids = list(adopted.values_list("conversation_id", flat=True))
    adopted.update(visitor=visitor)
    Conversation.objects.for_org(organization).filter(pk__in=ids).update(visitor_id=visitor.public_id)
    Participant.objects.for_org(organization).filter(conversation_id__in=ids, visitor_id=anonymous.public_id).update(
        visitor_id=visitor.public_id
    )
    Message.objects.for_org(organization).filter(conversation_id__in=ids, sender_visitor_id=anonymous.public_id).update(
        sender_visitor_id=visitor.public_id
    )
    anonymous.delete()


def _anonymous_visitor(bot: Chatbot, resume: str) -> tuple[Visitor, str]:
    known = (
        Visitor.objects.for_org(bot.organization_id).filter(bot=bot, resume_hash=token_hash(resume), external_id="")
        if resume
        else None
    )
    visitor = known.first() if known is not None else None
    return (visitor, resume) if visitor is not None else _visitor_new(bot)


@transaction.atomic
def widget_session_open(
    *, key: Any, origin: str | None, resume: str = "", identity: str = "", ip: str = ""
) -> WidgetSession:
    """404 unknown_bot, 403 origin_not_allowed, 401 identity_required / invalid_identity, 429 rate_limited.

    A resume secret brings back an anonymous visitor (and their conversation); a verified identity brings
    back the same visitor on any device. A resume secret never stands for a verified visitor: without the
    customer's signature the browser is an anonymous visitor, whatever it stored.
    """
    bot = _bot_by_key(key)
    if not origin_allowed(bot, origin):
        raise OriginNotAllowed(details={"origin": (origin or "")[:300]})
    limits.session_rate_check(ip=ip)
    if identity:
        visitor, resume = _verified_visitor(bot, identity, resume)
    elif bot.require_identity:
        raise IdentityRequired()
    else:
        visitor, resume = _anonymous_visitor(bot, resume)
    visitor.last_seen_at = timezone.now()
    visitor.save()
    token, lifetime = visitor_token_issue(
        bot_id=bot.pk,
        organization_id=bot.organization_id,
        visitor_id=visitor.public_id,
        origin=origin_normalize(origin) or "",
        publishable_key=bot.publishable_key,
        verified=visitor.verified,
    )
    return WidgetSession(token, lifetime, bot, visitor, resume, visitor_conversation(visitor=visitor))


def visitor_authenticate(
    *, token: str, origin: str | None, key: str | None = None, ip: str | None = None, request_id: str = ""
) -> VisitorContext:
    """Re-check a visitor token on a call: genuine and unexpired (401), made under the bot's current
    publishable key (401), presented from the origin it was issued to, still allowed (403 origin_not_allowed),
    for the bot the widget names when it names one (403 wrong_bot)."""
    claims = visitor_token_read(token)
    bot = Chatbot.objects.unscoped().select_related("organization").filter(pk=claims.bot_id).first()
    if bot is None:
        raise InvalidVisitorToken()
    if key and key != bot.publishable_key:
        raise WrongBot()
    if claims.key_tag != key_tag(bot.publishable_key):
        raise InvalidVisitorToken("The bot's key was changed. Open a new session.")
    if origin_normalize(origin) != claims.origin:
        raise OriginNotAllowed("This visitor token was issued to another site.")
    if not origin_allowed(bot, origin):
        raise OriginNotAllowed()
    if bot.require_identity and not claims.verified:
        raise IdentityRequired()
    visitor = Visitor.objects.for_org(bot.organization_id).filter(bot=bot, public_id=claims.visitor_id).first()
    if visitor is None or visitor.verified != claims.verified:
        raise InvalidVisitorToken()
    actor = Actor.for_visitor(visitor.public_id, organization=bot.organization, ip=ip or None, request_id=request_id)
    return VisitorContext(bot=bot, visitor=visitor, origin=claims.origin, actor=actor)


def visitor_conversation(*, visitor: Visitor, lock: bool = False) -> WidgetConversation | None:
    """The visitor's current conversation (the latest one), if they have one."""
    query = WidgetConversation.objects.for_org(visitor.organization_id).filter(visitor=visitor)
    if lock:
        query = query.select_for_update(of=("self",))
    return query.select_related("conversation", "agent").order_by("-created_at").first()


def widget_conversation_start(*, context: VisitorContext, title: str) -> WidgetConversation:
    """A new conversation with the bot for this visitor (inside the caller's transaction)."""
    from apps.chatbot.services.conversations import bot_conversation_open

    conversation = bot_conversation_open(
        bot=context.bot, actor=context.actor, title=title[:200], source=Conversation.Source.WIDGET
    )
    return WidgetConversation.objects.create(
        organization_id=context.bot.organization_id, conversation=conversation, bot=context.bot, visitor=context.visitor
    )


# -------------------------------------------------------------------------------------------- messages


@dataclass
class WidgetSend:
    """What sending produced: the visitor's stored message, and either a bot turn to stream, the stored reply
    of an earlier identical send, or nothing (a person holds the conversation: the bot stays silent)."""

    message: Message
    state: str
    turn: ChatTurn | None = None
    duplicate: bool = False
    reply: Message | None = None


def _message_check(text: Any, client_msg_id: Any) -> tuple[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("The message is empty.", details={"text": ["Write a message."]})
    text = text.strip()
    limit = int(settings.WIDGET_MESSAGE_MAX_CHARS)
    if len(text) > limit:
        raise ValidationFailed(
            f"The message is too long ({len(text)} characters; at most {limit}).",
            details={"text": [f"At most {limit} characters."], "max_chars": limit},
        )
    if client_msg_id is None:
        client_msg_id = ""
    if not isinstance(client_msg_id, str) or len(client_msg_id) > 64:
        raise ValidationFailed(details={"client_msg_id": ["At most 64 characters."]})
    return text, client_msg_id


def _earlier_send(conversation: WidgetConversation, visitor: Visitor, client_msg_id: str) -> WidgetSend | None:
    if not client_msg_id:
        return None
    messages = Message.objects.for_org(conversation.organization_id).filter(
        conversation_id=conversation.conversation_id
    )
    sent = messages.filter(sender_visitor_id=visitor.public_id, client_msg_id=client_msg_id).first()
    if sent is None:
        return None
    reply = messages.filter(seq__gt=sent.seq, sender_kind="bot").order_by("seq").first()
    return WidgetSend(message=sent, state=conversation.state, duplicate=True, reply=reply)


def _store_for_people(
    conversation: WidgetConversation, context: VisitorContext, text: str, client_msg_id: str
) -> Message:
    message = Message.objects.create(
        organization_id=conversation.organization_id,
        conversation_id=conversation.conversation_id,
        role=Message.Role.USER,
        content=text,
        client_msg_id=client_msg_id,
        **message_sender(context.actor),
    )
    emit(EventType.MESSAGE_CREATED, organization=conversation.organization_id, payload=message_event_payload(message))
    return message


def widget_message_send(*, context: VisitorContext, text: Any, client_msg_id: Any = "") -> WidgetSend:
    """400 for an empty or over-long message and 429 for a flood or a spent budget, with nothing stored.
    A resend of a client_msg_id returns what the first send stored."""
    text, client_msg_id = _message_check(text, client_msg_id)
    limits.message_rate_check(visitor_id=context.visitor.public_id, ip=context.actor.ip or "")
    try:
        with transaction.atomic():
            return _send(context, text, client_msg_id)
    except IntegrityError:  # the same client_msg_id sent twice at once: the other one stored it
        conversation = visitor_conversation(visitor=context.visitor)
        earlier = _earlier_send(conversation, context.visitor, client_msg_id) if conversation else None
        if earlier is None:
            raise
        return earlier


def _send(context: VisitorContext, text: str, client_msg_id: str) -> WidgetSend:
    Visitor.objects.for_org(context.bot.organization_id).select_for_update().filter(pk=context.visitor.pk).first()
    conversation = visitor_conversation(visitor=context.visitor, lock=True)
    if conversation is not None:
        earlier = _earlier_send(conversation, context.visitor, client_msg_id)
        if earlier is not None:
            return earlier
        if conversation.state in HUMAN_STATES:
            message = _store_for_people(conversation, context, text, client_msg_id)
            return WidgetSend(message=message, state=conversation.state)
        if conversation.state == HandoffState.RESOLVED:  # the visitor writes again: the bot takes it up
            conversation.state, conversation.agent, conversation.state_changed_at = (
                HandoffState.BOT,
                None,
                timezone.now(),
            )
            conversation.save(update_fields=["state", "agent", "state_changed_at", "updated_at"])
    limits.bot_budget_take(bot=context.bot)
    if conversation is None:
        conversation = widget_conversation_start(context=context, title=text)
    turn = chat_turn_open(
        actor=context.actor,
        bot_id=context.bot.pk,
        message=text,
        conversation_id=conversation.conversation_id,
        source=Conversation.Source.WIDGET,
        client_msg_id=client_msg_id,
    )
    metered = turn.on_saved
    bot = context.bot

    def on_saved(saved: Message) -> None:
        if metered is not None:
            metered(saved)
        limits.bot_tokens_spent(bot=bot, tokens=saved.prompt_tokens + saved.completion_tokens)

    turn.on_saved = on_saved
    return WidgetSend(message=turn.user_message, state=HandoffState.BOT, turn=turn)


def widget_feedback_give(*, context: VisitorContext, message_id: Any, rating: Any, comment: Any = "") -> Any:
    """Thumbs up or down, with an optional comment, on a bot answer in one of the visitor's conversations."""
    if rating not in ("up", "down"):
        raise ValidationFailed(details={"rating": ['"up" or "down".']})
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > 2000:
        raise ValidationFailed(details={"comment": ["At most 2000 characters."]})
    limits.read_rate_check(visitor_id=context.visitor.public_id)
    mine = WidgetConversation.objects.for_org(context.bot.organization_id).filter(visitor=context.visitor)
    message = (
        Message.objects.for_org(context.bot.organization_id)
        .filter(pk=message_id, conversation_id__in=mine.values("conversation_id"), sender_kind="bot")
        .first()
    )
    if message is None:
        raise NotFound("Message not found.")
    return feedback_give(actor=context.actor, message=message, rating=rating, comment=comment)


# ------------------------------------------------------------------------------------------ bot keys


def _bot_key_set(*, actor: Actor, bot: Chatbot, field: str, value: str, action: AuditAction) -> None:
    setattr(bot, field, value)
    bot.save(update_fields=[field, "updated_at"])
    audit_record(actor=actor, action=action, target=bot, data={"name": bot.name})
    emit(
        EventType.BOT_CHANGED,
        organization=bot.organization_id,
        payload={"bot_id": str(bot.pk), "change": "updated", "fields": [field]},
    )


@transaction.atomic
def publishable_key_rotate(*, actor: Actor, bot: Chatbot) -> Chatbot:
    """A new publishable key: the old one stops opening sessions and every visitor token made under it dies."""
    from apps.chatbot.models import new_publishable_key

    key = new_publishable_key()
    _bot_key_set(actor=actor, bot=bot, field="publishable_key", value=key, action=AuditAction.WIDGET_KEY_ROTATED)
    return bot


@transaction.atomic
def identity_secret_rotate(*, actor: Actor, bot: Chatbot) -> str:
    """A new identity secret, returned this once (stored encrypted): identities signed with the old one fail."""
    secret = f"wis_{secrets.token_urlsafe(32)}"
    action = AuditAction.WIDGET_IDENTITY_SECRET_ROTATED
    _bot_key_set(actor=actor, bot=bot, field="identity_secret", value=secret, action=action)
    return secret
