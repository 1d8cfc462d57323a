"""REST endpoints of the realtime layer: a single-use ticket to open the WebSocket, and member rooms."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.chat import selectors, services
from apps.chatbot.models import Conversation, Message, Participant
from apps.chatbot.serializers import SenderSerializer
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView, OrganizationViewSet
from apps.users.models import User
from common.core.errors import ValidationFailed
from common.core.fields import model_integer_field
from common.core.names import validate_no_control_characters

UUID_RE = "[0-9a-fA-F-]{36}"

TAGS = ["realtime"]


class TicketOutputSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Pass as `/ws/?ticket=…` or the subprotocol `docent.ticket.<ticket>`.")
    expires_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="The WebSocket path to open.")


class RealtimeTicketAPI(OrganizationAPIView):
    """A ticket for one WebSocket connection (members only; API keys cannot open realtime connections)."""

    required_roles = {"POST": Role.MEMBER}

    @extend_schema(
        tags=TAGS,
        request=None,
        responses={201: TicketOutputSerializer},
        summary="Get a single-use ticket to open the realtime WebSocket",
    )
    def post(self, request: Request) -> Response:
        issued = services.realtime_ticket_issue(actor=self.actor)
        body = {"ticket": issued.ticket, "expires_at": issued.expires_at, "url": "/ws/"}
        return Response(TicketOutputSerializer(body).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------------- rooms

ROOM_TAGS = ["Rooms"]
ROOM_ROLES = {"GET": Role.MEMBER, "POST": Role.MEMBER, "PATCH": Role.MEMBER, "DELETE": Role.MEMBER}


ROOM_KIND_CHOICES = [
    (Conversation.Kind.DIRECT.value, Conversation.Kind.DIRECT.label),
    (Conversation.Kind.GROUP.value, Conversation.Kind.GROUP.label),
]


class MentionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Participant.Kind.choices)
    id = serializers.CharField()


class RoomCitationSerializer(serializers.Serializer):
    marker = serializers.IntegerField(help_text="The [n] in the answer's text.")
    document_id = serializers.UUIDField()
    document_title = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField(allow_blank=True, allow_null=True)
    snippet = serializers.CharField(allow_blank=True, allow_null=True)


class RoomMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversation = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3 ... in this conversation, without gaps.")
    sender = SenderSerializer()
    text = serializers.CharField(allow_null=True, help_text="Null once the message was deleted.")
    reply_to = serializers.IntegerField(allow_null=True, help_text="The seq of the message this one answers.")
    mentions = MentionSerializer(many=True)
    client_msg_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    revision = serializers.IntegerField(
        help_text="The room's revision of this message's last edit or deletion (0: none)."
    )
    citations = RoomCitationSerializer(
        many=True, help_text="A bot answer's sources (what its [n] markers point at); empty for other messages."
    )


class RoomOtherSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Participant.Kind.choices)
    id = serializers.CharField()


class RoomSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ROOM_KIND_CHOICES)
    title = serializers.CharField(allow_blank=True)
    other = RoomOtherSerializer(allow_null=True, help_text="A direct room's other participant (member or bot).")
    last_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField()
    last_message = RoomMessageSerializer(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ParticipantSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Participant.Kind.choices)
    id = serializers.CharField()
    role = serializers.ChoiceField(choices=Participant.Role.choices)
    joined_at = serializers.DateTimeField()
    last_read_seq = serializers.IntegerField()


class RoomDetailSerializer(RoomSerializer):
    participants = ParticipantSerializer(many=True)


class RoomCreateInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ROOM_KIND_CHOICES)
    user_id = serializers.UUIDField(required=False, help_text="direct: the other member (or give bot_id).")
    bot_id = serializers.UUIDField(required=False, help_text="direct: a bot of the organization to talk to.")
    title = serializers.CharField(
        required=False, max_length=200, validators=[validate_no_control_characters], help_text="group: its title."
    )
    user_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=500, help_text="group: the other members."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("kind") == "direct":
            if ("user_id" in attrs) == ("bot_id" in attrs):
                raise serializers.ValidationError({"user_id": ["A direct conversation names one member or one bot."]})
            for name in ("title", "user_ids"):
                if name in attrs:
                    raise serializers.ValidationError({name: ["Only for a group."]})
        elif attrs.get("kind") == "group":
            for name in ("user_id", "bot_id"):
                if name in attrs:
                    raise serializers.ValidationError({name: ["Only for a direct conversation."]})
            if not (attrs.get("title") or "").strip():
                raise serializers.ValidationError({"title": ["A group needs a title."]})
        return attrs


class RoomRenameInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, validators=[validate_no_control_characters])


class RoomMembersInputSerializer(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)
    bot_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_ids") and not attrs.get("bot_ids"):
            raise serializers.ValidationError({"user_ids": ["Name members (user_ids) or bots (bot_ids) to add."]})
        return attrs


class RoomMembersOutputSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.UUIDField())
    bots_added = serializers.ListField(child=serializers.UUIDField())


class RoomReadInputSerializer(serializers.Serializer):
    seq = model_integer_field(Message, "seq", min_value=0)


class RoomReadOutputSerializer(serializers.Serializer):
    last_read_seq = serializers.IntegerField()


class RoomSendInputSerializer(serializers.Serializer):
    # Length is checked by the service (one limit for REST and WebSocket); here only the type.
    text = serializers.CharField(trim_whitespace=False, allow_blank=True)
    client_msg_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    reply_to = model_integer_field(
        Message, "seq", min_value=1, required=False, help_text="The seq of the message answered."
    )
    mentions = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=50, help_text="User or bot ids of participants."
    )


class RoomHistorySerializer(serializers.Serializer):
    messages = RoomMessageSerializer(many=True)
    has_before = serializers.BooleanField(help_text="Older messages exist: ask again with before=<first seq>.")
    has_after = serializers.BooleanField(help_text="Newer messages exist: ask again with after=<last seq>.")


class RoomPagination(CursorPagination):
    ordering = ("-last_message_at", "-created_at")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


SEQ_MAX = 2**31 - 1  # Message.seq is a PositiveIntegerField


def _seq_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(details={name: ["A whole number."]}) from None
    if not 0 <= value <= SEQ_MAX:
        raise ValidationFailed(details={name: [f"Between 0 and {SEQ_MAX}."]})
    return value


@extend_schema_view(
    list=extend_schema(
        tags=ROOM_TAGS, summary="List my rooms (unread counts, last message)", responses=RoomSerializer(many=True)
    ),
    retrieve=extend_schema(tags=ROOM_TAGS, summary="Get a room with its participants", responses=RoomDetailSerializer),
    create=extend_schema(
        tags=ROOM_TAGS,
        summary="Open a direct room (or get the existing one) or create a group",
        request=RoomCreateInputSerializer,
        responses={201: RoomDetailSerializer, 200: RoomDetailSerializer},
    ),
    partial_update=extend_schema(
        tags=ROOM_TAGS,
        summary="Rename a group (owners)",
        request=RoomRenameInputSerializer,
        responses=RoomDetailSerializer,
    ),
)
class RoomViewSet(OrganizationViewSet):
    """Member rooms: direct (one per pair of members) and group conversations. Members only (no API keys);
    each member sees the rooms they take part in."""

    model = Conversation
    lookup_value_regex = UUID_RE
    pagination_class = RoomPagination
    required_roles = ROOM_ROLES
    http_method_names = ["get", "post", "patch", "head", "options"]
    isolation_field_models = {"user_id": User, "user_ids": User}
    isolation_payload = {"kind": "group", "title": "probe"}

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(
            kind__in=selectors.ROOM_KINDS,
            participants__kind=Participant.Kind.USER,
            participants__user_id=self.actor.user_id,
        )

    def _detail(self, conversation: Conversation) -> dict[str, Any]:
        (summary,) = selectors.room_summaries(actor=self.actor, conversations=[conversation])
        return {**summary, "participants": selectors.participants_summary(conversation)}

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rooms = selectors.room_summaries(actor=self.actor, conversations=list(page or []))
        return self.get_paginated_response(RoomSerializer(rooms, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(RoomDetailSerializer(self._detail(self.get_object())).data)

    def create(self, request: Request) -> Response:
        data = RoomCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["kind"] == "direct":
            conversation, created = services.room_direct_open(
                actor=self.actor, user_id=values.get("user_id"), bot_id=values.get("bot_id")
            )
        else:
            conversation = services.room_group_create(
                actor=self.actor, title=values["title"], user_ids=values.get("user_ids", [])
            )
            created = True
        body = RoomDetailSerializer(self._detail(conversation)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def partial_update(self, request: Request, pk: str) -> Response:
        self.get_object()  # a room the member is not in is a 404, whatever the body
        data = RoomRenameInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.room_rename(actor=self.actor, conversation_id=pk, title=data.validated_data["title"])
        return Response(RoomDetailSerializer(self._detail(conversation)).data)

    @extend_schema(
        tags=ROOM_TAGS,
        summary="Add members or bots to a group",
        request=RoomMembersInputSerializer,
        responses=RoomMembersOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def members(self, request: Request, pk: str) -> Response:
        self.get_object()  # a room the member is not in is a 404, whatever the body
        data = RoomMembersInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        added = bots_added = []
        if values.get("user_ids"):
            added = services.room_members_add(actor=self.actor, conversation_id=pk, user_ids=values["user_ids"])
        if values.get("bot_ids"):
            bots_added = services.room_bots_add(actor=self.actor, conversation_id=pk, bot_ids=values["bot_ids"])
        return Response(RoomMembersOutputSerializer({"added": added, "bots_added": bots_added}).data)

    @extend_schema(tags=ROOM_TAGS, summary="Leave a group", request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk: str) -> Response:
        services.room_member_remove(actor=self.actor, conversation_id=pk, user_id=self.actor.user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=ROOM_TAGS,
        summary="Mark a room read up to a message",
        request=RoomReadInputSerializer,
        responses=RoomReadOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        self.get_object()  # a room the member is not in is a 404, whatever the body
        data = RoomReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        seq = services.room_read(actor=self.actor, conversation_id=pk, seq=data.validated_data["seq"])
        return Response(RoomReadOutputSerializer({"last_read_seq": seq}).data)

    @extend_schema(
        tags=ROOM_TAGS,
        summary="A room's history, by seq",
        description=(
            "Without parameters: the latest messages. `before=N`: the messages just before seq N (scrolling "
            "back). `after=N`: the messages just after seq N (catching up). Oldest first in every case."
        ),
        parameters=[
            OpenApiParameter("before", OpenApiTypes.INT, description="Messages with a seq below this"),
            OpenApiParameter("after", OpenApiTypes.INT, description="Messages with a seq above this"),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"At most this many (1-{selectors.HISTORY_MAX})"),
        ],
        responses=RoomHistorySerializer,
    )
    @action(detail=True, methods=["get"])
    def messages(self, request: Request, pk: str) -> Response:
        before, after = _seq_param(request, "before"), _seq_param(request, "after")
        if before is not None and after is not None:
            raise ValidationFailed(details={"after": ["Give before or after, not both."]})
        limit = _seq_param(request, "limit") or 50
        conversation = self.get_object()
        page = selectors.room_messages(conversation=conversation, before=before, after=after, limit=limit)
        first = page[0].seq if page else (after or 0)
        last = page[-1].seq if page else (before - 1 if before else conversation.last_seq)
        body = {
            "messages": [selectors.message_summary(m) for m in page],
            "has_before": first > 1 if page else (after or 0) > 0,
            "has_after": last < conversation.last_seq,
        }
        return Response(RoomHistorySerializer(body).data)

    @extend_schema(
        tags=ROOM_TAGS,
        summary="Send a message (idempotent with client_msg_id)",
        request=RoomSendInputSerializer,
        responses={201: RoomMessageSerializer, 200: RoomMessageSerializer},
    )
    @messages.mapping.post
    def send_message(self, request: Request, pk: str) -> Response:
        self.get_object()  # a room the member is not in is a 404, whatever the body
        data = RoomSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sent = services.room_message_send(actor=self.actor, conversation_id=pk, **data.validated_data)
        return Response(
            RoomMessageSerializer(selectors.message_summary(sent.message)).data,
            status=status.HTTP_201_CREATED if sent.created else status.HTTP_200_OK,
        )


class RoomMemberAPI(OrganizationAPIView):
    """Remove a member from a group (owners), or leave it (naming oneself)."""

    model = Conversation
    required_roles = {"DELETE": Role.MEMBER}
    isolation_kwarg_models = {"user_id": User}

    @extend_schema(tags=ROOM_TAGS, summary="Remove a member from a group", responses={204: None})
    def delete(self, request: Request, pk: str, user_id: str) -> Response:
        services.room_member_remove(actor=self.actor, conversation_id=pk, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomBotAPI(OrganizationAPIView):
    """Remove a bot from a group (owners)."""

    model = Conversation
    required_roles = {"DELETE": Role.MEMBER}

    @extend_schema(tags=ROOM_TAGS, summary="Remove a bot from a group", responses={204: None})
    def delete(self, request: Request, pk: str, bot_id: str) -> Response:
        services.room_bot_remove(actor=self.actor, conversation_id=pk, bot_id=bot_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
