"""Writes of the chat app: WebSocket tickets, member rooms (direct and group) and their messages."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from apps.chat.models import RealtimeTicket
from apps.chatbot.models import Chatbot, Conversation, Message, Participant, SenderKind
from apps.chatbot.services.conversations import message_sender
from apps.organizations.actors import Actor
from apps.organizations.models import Membership
from common.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError, ValidationFailed
from common.events import EventType, emit
from common.security.tokens import token_hash, token_issue

TICKET_PREFIX = "wst_"


class TicketInvalid(DomainError):
    code = "ticket_invalid"
    status_code = 401
    default_message = "This ticket is unknown, used or expired: ask for a new one."


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_at: datetime


@transaction.atomic
def realtime_ticket_issue(*, actor: Actor) -> IssuedTicket:
    """A ticket for one WebSocket connection of this member in this organization, valid a few seconds, once."""
    assert actor.user is not None, "Only a signed-in member opens a realtime connection."
    issued = token_issue(TICKET_PREFIX)
    expires_at = timezone.now() + timedelta(seconds=int(settings.REALTIME_TICKET_SECONDS))
    RealtimeTicket.objects.create(
        organization=actor.org, user=actor.user, token_hash=issued.digest, expires_at=expires_at
    )
    return IssuedTicket(ticket=issued.plaintext, expires_at=expires_at)


def realtime_ticket_redeem(*, ticket: str, ip: str | None = None) -> Actor:
    """The member the ticket was issued to, bound to its organization again (membership re-checked). A ticket
    works once: of two connections racing with the same ticket, one wins.

    Two statements, no transaction: one UPDATE marks the ticket used and returns whose it is (PostgreSQL lets
    one of two racing updates of the row match `used_at IS NULL`), one SELECT reads the active member with
    their organization. Every socket of a connect burst pays this (ADR 0071)."""
    if not ticket.startswith(TICKET_PREFIX) or len(ticket) > 200:
        raise TicketInvalid()
    now = timezone.now()
    table, quote = RealtimeTicket._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:  # the ticket names the organization
        cursor.execute(
            f"UPDATE {quote(table)} SET used_at = %s, updated_at = %s "
            "WHERE token_hash = %s AND used_at IS NULL AND expires_at > %s RETURNING organization_id, user_id",
            [now, now, token_hash(ticket), now],
        )
        row = cursor.fetchone()
    if row is None:
        raise TicketInvalid()
    organization_id, user_id = row
    membership = (
        Membership.objects.for_org(organization_id)
        .filter(user_id=user_id, user__is_active=True)
        .select_related("user", "organization")
        .first()
    )
    if membership is None:
        raise TicketInvalid()
    return Actor.for_user(membership.user, ip=ip).in_organization(membership.organization, membership)


def realtime_tickets_purge(*, now: datetime | None = None) -> int:
    """Delete tickets that expired more than a minute ago (called by beat)."""
    cutoff = (now or timezone.now()) - timedelta(minutes=1)
    deleted, _ = RealtimeTicket.objects.unscoped().filter(expires_at__lt=cutoff).delete()
    return deleted


# ---------------------------------------------------------------------------------------------------------- rooms
#
# Member rooms (ADR 0023's conversation model, kind direct | group): who may do what is decided here, and
# every change emits a domain event that the chat app's subscribers turn into doorbell rings after commit.


class RoomNotFound(NotFound):
    default_message = "Conversation not found."


class MessageNotFound(NotFound):
    default_message = "Message not found."


ROOM_KINDS = (Conversation.Kind.DIRECT, Conversation.Kind.GROUP)


def _members_of_org(*, organization_id: Any, user_ids: list[Any], field: str) -> list[Any]:
    """The given users, each checked to be a member of the organization (else 400 naming `field`)."""
    wanted = list(dict.fromkeys(str(u) for u in user_ids))
    found = {
        str(u)
        for u in Membership.objects.for_org(organization_id)
        .filter(user_id__in=wanted)
        .values_list("user_id", flat=True)
    }
    missing = [u for u in wanted if u not in found]
    if missing:
        raise ValidationFailed(
            "Only members of the organization can take part in a conversation.",
            details={field: [f"{u} is not a member of this organization." for u in missing]},
        )
    return wanted


def _participant(conversation: Conversation, user_id: Any) -> Participant | None:
    return (
        Participant.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation, kind=Participant.Kind.USER, user_id=user_id)
        .first()
    )


def room_for_member(*, actor: Actor, conversation_id: Any, lock: bool = False, resent: str = "") -> Conversation:
    """A direct or group conversation of this organization that the member takes part in (else 404). With
    `resent` (a client_msg_id), the same statement looks up the member's message of that key in the room
    (`conversation.resent_id`, None if they sent none): a send is then two statements, not three."""
    queryset = Conversation.objects.for_org(actor.organization_id).filter(
        pk=conversation_id,
        kind__in=ROOM_KINDS,
        participants__kind=Participant.Kind.USER,
        participants__user_id=actor.user_id,
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    if resent:
        same_key = Message.objects.for_org(actor.organization_id).filter(
            conversation=OuterRef("pk"), sender_user_id=actor.user_id, client_msg_id=resent
        )
        queryset = queryset.annotate(resent_id=Subquery(same_key.values("pk")[:1]))
    conversation = queryset.first()
    if conversation is None:
        raise RoomNotFound()
    return conversation


def _changed(conversation: Conversation, **payload: Any) -> None:
    emit(
        EventType.CONVERSATION_CHANGED,
        organization=conversation.organization_id,
        payload={"conversation_id": str(conversation.pk), "kind": conversation.kind, **payload},
    )


def _direct_key(*parts: str) -> str:
    return "|".join(sorted(parts))


def _bots_of_org(*, organization_id: Any, bot_ids: list[Any], field: str) -> list[str]:
    """The given bots, each checked to be one of the organization's (else 400 naming `field`)."""
    wanted = list(dict.fromkeys(str(b) for b in bot_ids))
    found = {
        str(b) for b in Chatbot.objects.for_org(organization_id).filter(pk__in=wanted).values_list("pk", flat=True)
    }
    missing = [b for b in wanted if b not in found]
    if missing:
        raise ValidationFailed(
            "Only the organization's bots can take part in a conversation.",
            details={field: [f"{b} is not a bot of this organization." for b in missing]},
        )
    return wanted


def room_direct_open(*, actor: Actor, user_id: Any = None, bot_id: Any = None) -> tuple[Conversation, bool]:
    """The direct conversation between the member and another member (`user_id`) or a bot (`bot_id`),
    created on first use: one per pair (a unique `direct_key` in the database settles two members opening it
    at the same moment)."""
    assert actor.user_id is not None
    if (user_id is None) == (bot_id is None):
        raise ValidationFailed("A direct conversation is with one member or one bot.")
    other = Participant(organization_id=actor.organization_id, role=Participant.Role.MEMBER)
    if bot_id is not None:
        (other.bot_id,) = _bots_of_org(organization_id=actor.organization_id, bot_ids=[bot_id], field="bot_id")
        other.kind = Participant.Kind.BOT
        key = _direct_key(f"user:{actor.user_id}", f"bot:{other.bot_id}")
    else:
        if str(user_id) == str(actor.user_id):
            raise ValidationFailed("A direct conversation is with someone else.", details={"user_id": ["That is you."]})
        (other.user_id,) = _members_of_org(organization_id=actor.organization_id, user_ids=[user_id], field="user_id")
        other.kind = Participant.Kind.USER
        key = _direct_key(f"user:{actor.user_id}", f"user:{other.user_id}")
    existing = Conversation.objects.for_org(actor.organization_id).filter(direct_key=key).first()
    if existing is not None:
        if _participant(existing, actor.user_id) is None:  # they left the organization and came back: rejoin it
            with transaction.atomic():
                Participant.objects.for_org(actor.organization_id).get_or_create(
                    organization_id=actor.organization_id,
                    conversation=existing,
                    kind=Participant.Kind.USER,
                    user_id=actor.user_id,
                    defaults={"role": Participant.Role.MEMBER},
                )
                _changed(existing, added=[str(actor.user_id)], removed=[])
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                organization_id=actor.organization_id,
                kind=Conversation.Kind.DIRECT,
                source=Conversation.Source.ROOM,
                direct_key=key,
                user=actor.user,
                last_message_at=timezone.now(),  # rooms are listed by their latest activity
            )
            me = Participant(
                organization_id=actor.organization_id,
                kind=Participant.Kind.USER,
                user_id=actor.user_id,
                role=Participant.Role.MEMBER,
            )
            for participant in (me, other):
                participant.conversation = conversation
            Participant.objects.bulk_create([me, other])
            emit(
                EventType.CONVERSATION_CREATED,
                organization=actor.organization_id,
                payload={"conversation_id": str(conversation.pk), "kind": conversation.kind},
            )
            added = [str(actor.user_id)] + ([str(other.user_id)] if other.user_id else [])
            _changed(conversation, added=added, removed=[])
    except IntegrityError:  # the other member opened it first: theirs is ours
        return Conversation.objects.for_org(actor.organization_id).get(direct_key=key), False
    return conversation, True


@transaction.atomic
def room_group_create(*, actor: Actor, title: str, user_ids: list[Any]) -> Conversation:
    """A group conversation: the member who creates it is its owner, the others (members of the organization)
    its members."""
    title = title.strip()
    if not title:
        raise ValidationFailed("A group needs a title.", details={"title": ["This field may not be blank."]})
    others = [
        u
        for u in _members_of_org(organization_id=actor.organization_id, user_ids=user_ids, field="user_ids")
        if u != str(actor.user_id)
    ]
    conversation = Conversation.objects.create(
        organization_id=actor.organization_id,
        kind=Conversation.Kind.GROUP,
        source=Conversation.Source.ROOM,
        title=title,
        user=actor.user,
        last_message_at=timezone.now(),
    )
    Participant.objects.bulk_create(
        [
            Participant(
                organization_id=actor.organization_id,
                conversation=conversation,
                kind=Participant.Kind.USER,
                user_id=member,
                role=Participant.Role.OWNER if member == str(actor.user_id) else Participant.Role.MEMBER,
            )
            for member in [str(actor.user_id), *others]
        ]
    )
    emit(
        EventType.CONVERSATION_CREATED,
        organization=actor.organization_id,
        payload={"conversation_id": str(conversation.pk), "kind": conversation.kind},
    )
    _changed(conversation, added=[str(actor.user_id), *others], removed=[])
    return conversation


def _require_group(conversation: Conversation) -> None:
    if conversation.kind != Conversation.Kind.GROUP:
        raise Conflict("A direct conversation has exactly its two members; start a group instead.")


def _require_owner(conversation: Conversation, actor: Actor) -> None:
    participant = _participant(conversation, actor.user_id)
    if participant is None or participant.role != Participant.Role.OWNER:
        raise PermissionDeniedError("Only the group's owners can do this.")


@transaction.atomic
def room_rename(*, actor: Actor, conversation_id: Any, title: str) -> Conversation:
    conversation = room_for_member(actor=actor, conversation_id=conversation_id, lock=True)
    _require_group(conversation)
    _require_owner(conversation, actor)
    title = title.strip()
    if not title:
        raise ValidationFailed("A group needs a title.", details={"title": ["This field may not be blank."]})
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    _changed(conversation, title=title, added=[], removed=[])
    return conversation


def _participants_add(conversation: Conversation, *, kind: str, field: str, ids: list[str]) -> list[str]:
    """Add users or bots (`field` "user_id" or "bot_id") not yet in the group, as members; returns who was added.
    A member joins having read everything so far (no unread backlog)."""
    present = {
        str(value)
        for value in Participant.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation, **{f"{field}__in": ids})
        .values_list(field, flat=True)
    }
    added = [value for value in ids if value not in present]
    Participant.objects.bulk_create(
        [
            Participant(
                organization_id=conversation.organization_id,
                conversation=conversation,
                kind=kind,
                role=Participant.Role.MEMBER,
                last_read_seq=conversation.last_seq if kind == Participant.Kind.USER else 0,
                **{field: value},
            )
            for value in added
        ]
    )
    return added


@transaction.atomic
def room_members_add(*, actor: Actor, conversation_id: Any, user_ids: list[Any]) -> list[str]:
    """Add members of the organization to a group (any of its members may); those already in it are skipped.
    Returns the ids of the users added."""
    conversation = room_for_member(actor=actor, conversation_id=conversation_id, lock=True)
    _require_group(conversation)
    wanted = _members_of_org(organization_id=actor.organization_id, user_ids=user_ids, field="user_ids")
    added = _participants_add(conversation, kind=Participant.Kind.USER, field="user_id", ids=wanted)
    if added:
        _changed(conversation, added=added, removed=[])
    return added


@transaction.atomic
def room_member_remove(*, actor: Actor, conversation_id: Any, user_id: Any) -> None:
    """Remove a member from a group (its owners may), or leave it (anyone: `user_id` is oneself). A group
    whose last owner leaves passes ownership to its longest-standing member."""
    conversation = room_for_member(actor=actor, conversation_id=conversation_id, lock=True)
    _require_group(conversation)
    leaving = str(user_id) == str(actor.user_id)
    if not leaving:
        _require_owner(conversation, actor)
    participant = _participant(conversation, user_id)
    if participant is None:
        raise NotFound("This user is not a member of the conversation.")
    _participant_remove(conversation, participant)


def _participant_remove(conversation: Conversation, participant: Participant) -> None:
    """The member no longer takes part: their row goes (the room's messages stay, theirs included). A group
    whose last owner goes passes ownership to its longest-standing member."""
    participant.delete()
    if participant.role == Participant.Role.OWNER and conversation.kind == Conversation.Kind.GROUP:
        remaining = Participant.objects.for_org(conversation.organization_id).filter(
            conversation=conversation, kind=Participant.Kind.USER
        )
        if not remaining.filter(role=Participant.Role.OWNER).exists():
            heir = remaining.order_by("joined_at", "pk").first()
            if heir is not None:
                heir.role = Participant.Role.OWNER
                heir.save(update_fields=["role", "updated_at"])
    _changed(conversation, added=[], removed=[str(participant.user_id)])


@transaction.atomic
def room_participations_end(*, organization_id: Any, user_id: Any) -> int:
    """A member who left or was removed from the organization leaves every room of it, direct rooms included:
    coming back later (a new invitation) gives no access to them. Returns how many rooms they left."""
    participants = list(
        Participant.objects.for_org(organization_id)
        .select_related("conversation")
        .select_for_update(of=("self",))
        .filter(kind=Participant.Kind.USER, user_id=user_id, conversation__kind__in=ROOM_KINDS)
    )
    for participant in participants:
        _participant_remove(participant.conversation, participant)
    return len(participants)


@transaction.atomic
def room_bots_add(*, actor: Actor, conversation_id: Any, bot_ids: list[Any]) -> list[str]:
    """Add the organization's bots to a group (any of its members may); they answer when mentioned."""
    conversation = room_for_member(actor=actor, conversation_id=conversation_id, lock=True)
    _require_group(conversation)
    wanted = _bots_of_org(organization_id=actor.organization_id, bot_ids=bot_ids, field="bot_ids")
    added = _participants_add(conversation, kind=Participant.Kind.BOT, field="bot_id", ids=wanted)
    if added:
        _changed(conversation, added=[], removed=[], bots_added=added)
    return added


@transaction.atomic
def room_bot_remove(*, actor: Actor, conversation_id: Any, bot_id: Any) -> None:
    conversation = room_for_member(actor=actor, conversation_id=conversation_id, lock=True)
    _require_group(conversation)
    _require_owner(conversation, actor)
    deleted, _ = (
        Participant.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation, kind=Participant.Kind.BOT, bot_id=bot_id)
        .delete()
    )
    if not deleted:
        raise NotFound("This bot is not in the conversation.")
    _changed(conversation, added=[], removed=[], bots_removed=[str(bot_id)])


def room_read(*, actor: Actor, conversation_id: Any, seq: int) -> int:
    """Mark the conversation read up to `seq` (never backwards, never beyond its last message); the read
    position is returned and, when it moved, announced to the other members."""
    with transaction.atomic():
        conversation = room_for_member(actor=actor, conversation_id=conversation_id)
        target = max(0, min(int(seq), conversation.last_seq))
        moved = (
            Participant.objects.for_org(conversation.organization_id)
            .filter(
                conversation=conversation,
                kind=Participant.Kind.USER,
                user_id=actor.user_id,
                last_read_seq__lt=target,
            )
            .update(last_read_seq=target, updated_at=timezone.now())
        )
        if moved:
            emit(
                EventType.CONVERSATION_READ,
                organization=conversation.organization_id,
                payload={"conversation_id": str(conversation.pk), "user_id": str(actor.user_id), "seq": target},
            )
            return target
    participant = _participant(conversation, actor.user_id)
    return participant.last_read_seq if participant is not None else target


# --------------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: a resend of the same client_msg_id, answered with the message already stored


def _mentions(conversation: Conversation, mentions: list[Any]) -> list[dict[str, str]]:
    """Mentions are of participants: members or bots, given by their user or bot id."""
    wanted = list(dict.fromkeys(str(m) for m in mentions))
    if not wanted:
        return []
    rows = Participant.objects.for_org(conversation.organization_id).filter(conversation=conversation)
    known: dict[str, str] = {}
    for kind, user_id, bot_id in rows.values_list("kind", "user_id", "bot_id"):
        if user_id is not None:
            known[str(user_id)] = kind
        if bot_id is not None:
            known[str(bot_id)] = kind
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ValidationFailed(
            "Only participants of the conversation can be mentioned.",
            details={"mentions": [f"{m} does not take part in this conversation." for m in unknown]},
        )
    return [{"kind": known[m], "id": m} for m in wanted]


def _answering_bots(conversation: Conversation, mentioned: list[dict[str, str]]) -> list[str]:
    """Which bots answer a member's message: the bots it mentions, and in a direct room with a bot, the bot."""
    bots = [m["id"] for m in mentioned if m["kind"] == Participant.Kind.BOT]
    if conversation.kind == Conversation.Kind.DIRECT and conversation.direct_key.startswith("bot:"):
        bots = [conversation.direct_key.split("|", 1)[0].removeprefix("bot:")]
    return bots


def _check_text(text: Any) -> str:
    limit = int(settings.ROOM_MESSAGE_MAX_CHARS)
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("A message needs some text.", details={"text": ["This field may not be blank."]})
    if len(text) > limit:
        raise ValidationFailed(
            f"Messages are limited to {limit} characters.",
            details={"text": [f"Ensure this field has no more than {limit} characters."]},
        )
    return text


def _existing(conversation: Conversation, actor: Actor, client_msg_id: str) -> Message | None:
    if not client_msg_id:
        return None
    return (
        Message.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation, sender_user_id=actor.user_id, client_msg_id=client_msg_id)
        .first()
    )


def _own_transaction_unless_nested() -> contextlib.AbstractContextManager[Any]:
    """A message is stored by one INSERT, whose trigger numbers it under the room's row lock: on its own (autocommit)
    that statement is its own transaction, so PostgreSQL holds the lock only while it inserts and commits. In an
    explicit transaction the lock was also held across the round trips back to this process (the insert's answer,
    then COMMIT), each waiting for the GIL while the event loop wrote to hundreds of sockets: a room's senders queued
    behind that (ADR 0077). Inside a caller's transaction, a savepoint as before (a duplicate rolls back only it)."""
    return transaction.atomic() if transaction.get_connection().in_atomic_block else contextlib.nullcontext()


def room_message_send(
    *,
    actor: Actor,
    conversation_id: Any,
    text: Any,
    client_msg_id: str = "",
    reply_to: int | None = None,
    mentions: list[Any] | None = None,
) -> Sent:
    """A member's message in a room. Its `seq` is assigned by the database in the same transaction; the same
    `client_msg_id` sent again by the same member returns the message already stored, never a second one."""
    client_msg_id = (client_msg_id or "").strip()
    if len(client_msg_id) > 64:
        raise ValidationFailed("client_msg_id is at most 64 characters.", details={"client_msg_id": ["Too long."]})
    conversation = room_for_member(actor=actor, conversation_id=conversation_id, resent=client_msg_id)
    resent_id = getattr(conversation, "resent_id", None)
    if resent_id is not None:
        return Sent(Message.objects.for_org(conversation.organization_id).get(pk=resent_id), created=False)
    text = _check_text(text)
    replied = None
    if reply_to is not None:
        replied = (
            Message.objects.for_org(conversation.organization_id)
            .filter(conversation=conversation, seq=reply_to)
            .first()
        )
        if replied is None:
            raise ValidationFailed(
                "A reply is to a message of the same conversation.", details={"reply_to": ["No such message."]}
            )
    mentioned = _mentions(conversation, mentions or [])
    answering = _answering_bots(conversation, mentioned)
    try:
        with _own_transaction_unless_nested():
            message = Message.objects.create(
                organization_id=conversation.organization_id,
                conversation=conversation,
                role=Message.Role.USER,
                content=text,
                reply_to=replied,
                mentions=mentioned,
                client_msg_id=client_msg_id,
                **message_sender(actor),
            )
            emit(
                EventType.MESSAGE_CREATED,
                organization=conversation.organization_id,
                payload={
                    "conversation_id": str(conversation.pk),
                    "kind": conversation.kind,
                    "message_id": str(message.pk),
                    "seq": message.seq,
                    "mentions": mentioned,
                    "sender": {"kind": message.sender_kind, "id": str(actor.user_id)},
                    "answer_bots": answering,
                },
            )
    except IntegrityError:  # the same client_msg_id raced in on another connection
        already = _existing(conversation, actor, client_msg_id)
        if already is None:
            raise
        return Sent(already, created=False)
    return Sent(message, created=True)


def _own_message(*, actor: Actor, conversation_id: Any, message_id: Any) -> tuple[Conversation, Message]:
    conversation = room_for_member(actor=actor, conversation_id=conversation_id)
    message = (
        Message.objects.for_org(conversation.organization_id)
        .select_for_update()
        .filter(conversation=conversation, pk=message_id)
        .first()
    )
    if message is None:
        raise MessageNotFound()
    if message.sender_kind != SenderKind.USER or str(message.sender_user_id) != str(actor.user_id):
        raise PermissionDeniedError("You can only change your own messages.")
    if message.deleted_at is not None:
        raise Conflict("This message was deleted.")
    return conversation, message


def _revise(conversation: Conversation, message: Message) -> None:
    """Give the change the room's next revision: the UPDATE locks the room's row until commit, so revisions
    commit in order (a client that saw revision N has seen every change up to N)."""
    rooms = Conversation.objects.for_org(conversation.organization_id).filter(pk=conversation.pk)
    rooms.update(last_revision=F("last_revision") + 1)
    message.revision = rooms.values_list("last_revision", flat=True).get()


def _updated(conversation: Conversation, message: Message) -> None:
    emit(
        EventType.MESSAGE_UPDATED,
        organization=conversation.organization_id,
        payload={
            "conversation_id": str(conversation.pk),
            "kind": conversation.kind,
            "message_id": str(message.pk),
            "seq": message.seq,
            "deleted": message.deleted_at is not None,
        },
    )


@transaction.atomic
def room_message_edit(*, actor: Actor, conversation_id: Any, message_id: Any, text: Any) -> Message:
    conversation, message = _own_message(actor=actor, conversation_id=conversation_id, message_id=message_id)
    message.content = _check_text(text)
    message.edited_at = timezone.now()
    _revise(conversation, message)
    message.save(update_fields=["content", "edited_at", "revision", "updated_at"])
    _updated(conversation, message)
    return message


@transaction.atomic
def room_message_delete(*, actor: Actor, conversation_id: Any, message_id: Any) -> Message:
    """Delete one's own message: it keeps its place (seq) in the history, without its content."""
    conversation, message = _own_message(actor=actor, conversation_id=conversation_id, message_id=message_id)
    message.content = ""
    message.mentions = []
    message.deleted_at = timezone.now()
    _revise(conversation, message)
    message.save(update_fields=["content", "mentions", "deleted_at", "revision", "updated_at"])
    _updated(conversation, message)
    return message
