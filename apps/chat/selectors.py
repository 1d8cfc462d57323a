"""Reads of the chat app: realtime access, member rooms and their history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, IntegerField, Value

from apps.chatbot.models import Chatbot, Conversation, Message, Participant
from apps.chatbot.services.conversations import message_sender_summary
from apps.organizations.actors import Actor
from apps.organizations.models import Membership


def realtime_access_allowed(*, actor: Actor, connected_at: float) -> bool:
    """Is this member still allowed the connection they opened at `connected_at` (a UNIX time)? No once they
    left or were removed, were deactivated, or revoked their tokens (log out everywhere, password change)."""
    membership = (
        Membership.objects.for_org(actor.organization_id).select_related("user").filter(user_id=actor.user_id).first()
    )
    if membership is None or not membership.user.is_active:
        return False
    cutoff = getattr(membership.user, "tokens_valid_after", None)
    return cutoff is None or cutoff.timestamp() <= connected_at


def realtime_access_allowed_many(*, connections: list[tuple[Any, Any, float]]) -> list[bool]:
    """`realtime_access_allowed` for many sockets ((organization id, user id, connected at) each) in one query:
    a server process checks all of its sockets at once."""
    organizations = {str(o) for o, _, _ in connections}
    users = {str(u) for _, u, _ in connections}
    rows = (
        Membership.objects.unscoped()  # deliberately across organizations: every socket of this process
        .filter(organization_id__in=organizations, user_id__in=users)
        .values_list("organization_id", "user_id", "user__is_active", "user__tokens_valid_after")
    )
    cutoffs = {(str(o), str(u)): (active, valid_after) for o, u, active, valid_after in rows}
    allowed = []
    for organization_id, user_id, connected_at in connections:
        found = cutoffs.get((str(organization_id), str(user_id)))
        allowed.append(
            found is not None and bool(found[0]) and (found[1] is None or found[1].timestamp() <= connected_at)
        )
    return allowed


ROOM_KINDS = (Conversation.Kind.DIRECT, Conversation.Kind.GROUP)
HISTORY_MAX = 200


@dataclass(frozen=True)
class ConnectState:
    """What a socket needs to open: its member's rooms (id -> (last seq, last revision)) and the organization's
    members (whose presence it is greeted with)."""

    positions: dict[str, tuple[int, int]]
    member_ids: list[str]


def realtime_connect_state(*, actor: Actor) -> ConnectState:
    """The member's rooms in this organization, each with its last seq and last revision (what a socket
    subscribes to), and the organization's member ids, in one statement: a connect burst of thousands of sockets
    pays one round trip each, not two. Members come as rows with seq -1."""
    none = Value(-1, output_field=IntegerField())
    rooms = Conversation.objects.for_org(actor.organization_id).filter(
        kind__in=ROOM_KINDS, participants__kind=Participant.Kind.USER, participants__user_id=actor.user_id
    )
    members = Membership.objects.for_org(actor.organization_id).annotate(seq=none, revision=none)
    rows = rooms.values_list("pk", "last_seq", "last_revision").union(
        members.values_list("user_id", "seq", "revision"), all=True
    )
    positions: dict[str, tuple[int, int]] = {}
    member_ids: list[str] = []
    for pk, seq, revision in rows:
        if seq < 0:
            member_ids.append(str(pk))
        else:
            positions[str(pk)] = (seq, revision)
    return ConnectState(positions=positions, member_ids=member_ids)


def _member_room_value(*, actor: Actor, conversation_id: Any, field: str) -> int | None:
    """A column of the room if the member takes part in it, else None (unknown, foreign, left or removed)."""
    row: int | None = (
        Conversation.objects.for_org(actor.organization_id)
        .filter(
            pk=conversation_id,
            kind__in=ROOM_KINDS,
            participants__kind=Participant.Kind.USER,
            participants__user_id=actor.user_id,
        )
        .values_list(field, flat=True)
        .first()
    )
    return row


def room_last_seq_for_member(*, actor: Actor, conversation_id: Any) -> int | None:
    """The room's last seq if the member takes part in it, else None (unknown, foreign, left or removed)."""
    return _member_room_value(actor=actor, conversation_id=conversation_id, field="last_seq")


def room_messages(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[Message]:
    """A page of a room's history, oldest first: the `limit` messages just before `before`, just after
    `after`, or the latest ones."""
    queryset = (
        Message.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation)
        .select_related("reply_to")
    )
    limit = max(1, min(int(limit), HISTORY_MAX))
    if after is not None:
        return list(queryset.filter(seq__gt=after).order_by("seq")[:limit])
    if before is not None:
        queryset = queryset.filter(seq__lt=before)
    return list(reversed(queryset.order_by("-seq")[:limit]))


def room_messages_after_for_member(
    *, actor: Actor, conversation_id: Any, after: int, limit: int
) -> list[Message] | None:
    """What a socket delivers: the messages after `after`, in order, if the member still takes part in the
    room (None once they left, were removed, or never belonged)."""
    if room_last_seq_for_member(actor=actor, conversation_id=conversation_id) is None:
        return None
    return list(
        Message.objects.for_org(actor.organization_id)
        .filter(conversation_id=conversation_id, seq__gt=after)
        .select_related("reply_to")
        .order_by("seq")[:limit]
    )


@dataclass(frozen=True)
class RoomRead:
    """What one read of a room gives every socket of a server process in it."""

    messages: list[dict[str, Any]]  # as message_summary shows them, in seq order
    members: set[str]  # the user ids taking part in the room at the time of the read
    last_seq: int  # the seq of the last message read (`after` when none)


def _room_members(*, organization_id: Any, conversation_id: Any) -> set[str]:
    rows = Participant.objects.for_org(organization_id).filter(
        conversation_id=conversation_id, conversation__kind__in=ROOM_KINDS, kind=Participant.Kind.USER
    )
    return {str(u) for u in rows.values_list("user_id", flat=True)}


def room_messages_after(*, organization_id: Any, conversation_id: Any, after: int, limit: int) -> RoomRead:
    """Up to `limit` messages of a room after `after`, and who takes part in it now: one read for all the
    sockets of a process that a ring finds behind."""
    members = _room_members(organization_id=organization_id, conversation_id=conversation_id)
    rows = list(
        Message.objects.for_org(organization_id)
        .filter(conversation_id=conversation_id, seq__gt=after)
        .select_related("reply_to")
        .order_by("seq")[:limit]
    )
    return RoomRead(
        messages=[message_summary(m) for m in rows], members=members, last_seq=rows[-1].seq if rows else after
    )


def room_messages_by_id(*, organization_id: Any, conversation_id: Any, message_ids: list[Any]) -> RoomRead:
    """Some messages of a room as they are now (edited, deleted), and who takes part in it."""
    members = _room_members(organization_id=organization_id, conversation_id=conversation_id)
    rows = list(
        Message.objects.for_org(organization_id)
        .filter(conversation_id=conversation_id, pk__in=message_ids)
        .select_related("reply_to")
        .order_by("revision")
    )
    return RoomRead(messages=[message_summary(m) for m in rows], members=members, last_seq=rows[-1].seq if rows else 0)


RESUME_CHANGES_MAX = 500


def room_changes_for_member(
    *, actor: Actor, conversation_id: Any, upto: int, after_revision: int
) -> tuple[list[Message], int] | None:
    """What a reconnecting client missed of the messages it has (seq <= `upto`): those edited or deleted after
    its `after_revision`, in the order of the changes (at most RESUME_CHANGES_MAX; the client re-reads the
    history beyond), and the room's last revision. None when the member does not take part in the room."""
    room = _member_room_value(actor=actor, conversation_id=conversation_id, field="last_revision")
    if room is None:
        return None
    changed = list(
        Message.objects.for_org(actor.organization_id)
        .filter(conversation_id=conversation_id, seq__lte=upto, revision__gt=after_revision)
        .select_related("reply_to")
        .order_by("revision")[:RESUME_CHANGES_MAX]
    )
    return changed, room


def room_message_for_member(*, actor: Actor, conversation_id: Any, message_id: Any) -> Message | None:
    if room_last_seq_for_member(actor=actor, conversation_id=conversation_id) is None:
        return None
    return (
        Message.objects.for_org(actor.organization_id)
        .filter(conversation_id=conversation_id, pk=message_id)
        .select_related("reply_to")
        .first()
    )


def message_summary(message: Message) -> dict[str, Any]:
    """A room message as the REST API and the WebSocket show it. A deleted message keeps its seq and sender,
    and has no text."""
    deleted = message.deleted_at is not None
    return {
        "id": str(message.pk),
        "conversation": str(message.conversation_id),
        "seq": message.seq,
        "sender": message_sender_summary(message),
        "text": None if deleted else message.content,
        "reply_to": message.reply_to.seq if message.reply_to_id is not None and message.reply_to else None,
        "mentions": [] if deleted else message.mentions,
        "client_msg_id": message.client_msg_id or None,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "revision": message.revision,
        "citations": [] if deleted else [_citation(c) for c in message.citations],
    }


CITATION_FIELDS = ("marker", "document_id", "document_title", "page", "heading", "snippet")


def _citation(citation: dict[str, Any]) -> dict[str, Any]:
    """A bot answer's source as a room shows it: what its [n] marker points at."""
    return {key: citation.get(key) for key in CITATION_FIELDS}


def participants_summary(conversation: Conversation) -> list[dict[str, Any]]:
    rows = (
        Participant.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation)
        .order_by("joined_at", "pk")
    )
    return [
        {
            "kind": p.kind,
            "id": str(p.user_id or p.bot_id or p.visitor_id),
            "role": p.role,
            "joined_at": p.joined_at.isoformat(),
            "last_read_seq": p.last_read_seq,
        }
        for p in rows
    ]


def room_summaries(*, actor: Actor, conversations: list[Conversation]) -> list[dict[str, Any]]:
    """Rooms as the list shows them: unread count (last_seq minus the member's last_read_seq), the last
    message and, for a direct room, who is on the other side; three queries whatever the number of rooms."""
    ids = [c.pk for c in conversations]
    read = dict(
        Participant.objects.for_org(actor.organization_id)
        .filter(conversation_id__in=ids, kind=Participant.Kind.USER, user_id=actor.user_id)
        .values_list("conversation_id", "last_read_seq")
    )
    last_messages = {
        m.conversation_id: m
        for m in Message.objects.for_org(actor.organization_id)
        .filter(conversation_id__in=ids, seq=F("conversation__last_seq"))
        .select_related("reply_to")
    }
    # A direct room has no title: the list names it after the one on the other side (one query for all of them).
    others: dict[Any, dict[str, str]] = {}
    for conversation_id, kind, user_id, bot_id in (
        Participant.objects.for_org(actor.organization_id)
        .filter(conversation_id__in=[c.pk for c in conversations if c.kind == Conversation.Kind.DIRECT])
        .exclude(kind=Participant.Kind.USER, user_id=actor.user_id)
        .values_list("conversation_id", "kind", "user_id", "bot_id")
    ):
        others.setdefault(conversation_id, {"kind": kind, "id": str(user_id or bot_id)})
    return [
        {
            "id": str(c.pk),
            "kind": c.kind,
            "title": c.title,
            "other": others.get(c.pk),
            "last_seq": c.last_seq,
            "last_read_seq": read.get(c.pk, 0),
            "unread": max(0, c.last_seq - read.get(c.pk, 0)),
            "last_message": message_summary(last_messages[c.pk]) if c.pk in last_messages else None,
            "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None,
            "created_at": c.created_at.isoformat(),
        }
        for c in conversations
    ]


def organization_people(*, actor: Actor) -> list[dict[str, str]]:
    """The organization's other members, to start a room with (id and the name to show)."""
    rows = (
        Membership.objects.for_org(actor.organization_id)
        .exclude(user_id=actor.user_id)
        .select_related("user")
        .order_by("user__email")
    )
    return [{"id": str(m.user_id), "name": m.user.full_name or m.user.email} for m in rows]


def organization_bots(*, actor: Actor) -> list[dict[str, str]]:
    return [
        {"id": str(pk), "name": name}
        for pk, name in Chatbot.objects.for_org(actor.organization_id).order_by("name").values_list("pk", "name")
    ]


def widget_conversation_in_organization(*, actor: Actor, conversation_id: str) -> bool:
    """Whether `conversation_id` is a widget conversation of the member's organization (agents' typing)."""
    return bool(
        Conversation.objects.for_org(actor.org).filter(pk=conversation_id, source=Conversation.Source.WIDGET).exists()
    )
