"""Bots, chat (JSON or Server-Sent Events), conversations, messages, feedback and export."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.chatbot import selectors
from apps.chatbot.encoders import answer_collect
from apps.chatbot.models import Chatbot, Conversation, Message
from apps.chatbot.schema import CHAT_DESCRIPTION, ChatSchema
from apps.chatbot.serializers import (
    BotInputSerializer,
    BotOutputSerializer,
    ChatInputSerializer,
    ChatOutputSerializer,
    ConversationExportSerializer,
    ConversationSerializer,
    FeedbackInputSerializer,
    FeedbackOutputSerializer,
    MessageSerializer,
    chat_input_read,
    chat_output_data,
)
from apps.chatbot.services import bots as bot_services
from apps.chatbot.services.answer import ChatTurn, chat_turn_stream
from apps.chatbot.services.conversations import conversation_export, feedback_give
from apps.chatbot.services.turns import chat_turn_open
from apps.chatbot.streaming import EventStreamRenderer, hands_over, sse_response
from apps.documents.models import Collection
from apps.organizations.actors import require_access
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView, OrganizationViewSet
from common.core.exceptions import error_body
from common.core.schema import error_responses
from common.events import deliveries_held

BOT_TAGS = ["Bots and chat"]
CONVERSATION_TAGS = ["Conversations"]
UUID_RE = "[0-9a-fA-F-]{36}"


@extend_schema_view(
    list=extend_schema(tags=BOT_TAGS, responses=BotOutputSerializer(many=True), summary="List bots"),
    retrieve=extend_schema(tags=BOT_TAGS, responses=BotOutputSerializer, summary="Get a bot"),
    create=extend_schema(
        tags=BOT_TAGS, request=BotInputSerializer, responses={201: BotOutputSerializer}, summary="Create a bot"
    ),
    partial_update=extend_schema(
        tags=BOT_TAGS, request=BotInputSerializer, responses=BotOutputSerializer, summary="Change a bot"
    ),
    destroy=extend_schema(tags=BOT_TAGS, responses={204: None}, summary="Delete a bot"),
)
class BotViewSet(OrganizationViewSet):
    model = Chatbot
    serializer_class = BotOutputSerializer
    lookup_value_regex = UUID_RE
    isolation_field_models = {"collections": Collection}
    resource_kwargs = {"pk": "bot"}
    required_roles = {"GET": Role.MEMBER, "POST": Role.ADMIN, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}
    required_scopes = {"GET": "bots:read", "POST": "bots:write", "PATCH": "bots:write", "DELETE": "bots:write"}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    restricted_by = ("bot", "pk")

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.prefetch_related("collections").order_by("name")

    def _check_collections(self, collections: list[Any] | None) -> None:
        for collection_id in collections or ():
            require_access(self.actor, kind="collection", resource_id=collection_id)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(BotOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(BotOutputSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        data = BotInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        self._check_collections(data.validated_data.get("collections"))
        bot = bot_services.bot_create(organization=self.organization, actor=self.actor, **data.validated_data)
        return Response(BotOutputSerializer(bot).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        bot = self.get_object()
        data = BotInputSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        self._check_collections(data.validated_data.get("collections"))
        bot = bot_services.bot_update(bot=bot, actor=self.actor, **data.validated_data)
        return Response(BotOutputSerializer(bot).data)

    def destroy(self, request: Request, pk: str) -> Response:
        bot_services.bot_delete(bot=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatView(OrganizationAPIView):
    """Ask a bot. JSON by default; Server-Sent Events when the client sends Accept: text/event-stream."""

    model = Chatbot
    resource_kwargs = {"pk": "bot"}
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    required_roles = {"POST": Role.MEMBER}
    required_scopes = {"POST": "chat"}

    schema = ChatSchema()

    @extend_schema(
        tags=BOT_TAGS,
        summary="Ask a bot",
        description=CHAT_DESCRIPTION,
        request=ChatInputSerializer,
        responses={
            (200, "application/json"): ChatOutputSerializer,
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, description="token/citations/done/error"),
            **error_responses(502, 503, 504),
        },
    )
    def post(self, request: Request, pk: str) -> Any:
        message, conversation_id = chat_input_read(request.data)
        streaming = request.accepted_renderer.format == "sse"
        # A stream's client waits for the first token: the question's events (and its turn's marker) go out once the
        # provider has been asked, not before (ADR 0137); under ASGI a new conversation's question is saved then too,
        # by this thread while the stream's asks the provider (ADR 0138).
        with deliveries_held() if streaming else contextlib.nullcontext():
            turn = chat_turn_open(
                actor=self.actor,
                bot_id=pk,
                message=message,
                conversation_id=conversation_id,
                source=Conversation.Source.API if self.actor.is_api_key else Conversation.Source.WEB,
                save_question_later=streaming and hands_over(request._request),
            )
            if streaming:
                return sse_response(request._request, turn)
        return _json_answer(turn)


def _json_answer(turn: ChatTurn) -> Response:
    """The whole turn as one JSON answer, or its error in the common error format."""
    collected = answer_collect(chat_turn_stream(turn))
    if collected.status_code != status.HTTP_200_OK:
        return Response(collected.body, status=collected.status_code)
    return Response(chat_output_data(collected.body))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class MessagePagination(CursorPagination):
    ordering = "created_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        tags=CONVERSATION_TAGS,
        summary="List conversations",
        parameters=[OpenApiParameter("bot", OpenApiTypes.UUID, description="Only this bot's conversations")],
        responses=ConversationSerializer(many=True),
    ),
    retrieve=extend_schema(tags=CONVERSATION_TAGS, summary="Get a conversation", responses=ConversationSerializer),
)
class ConversationViewSet(OrganizationViewSet):
    model = Conversation
    serializer_class = ConversationSerializer
    lookup_value_regex = UUID_RE
    required_roles = {"GET": Role.MEMBER}
    required_scopes = {"GET": "conversations:read"}
    http_method_names = ["get", "head", "options"]

    restricted_by = ("bot", "bot_id")

    def scope_queryset(self, queryset: Any) -> Any:
        # Bot conversations only: member rooms, and the turns of bots answering in them, are private to the
        # room's participants (/api/v1/rooms).
        queryset = queryset.filter(kind=Conversation.Kind.BOT).exclude(source=Conversation.Source.ROOM)
        bot = self.request.query_params.get("bot")
        return queryset.filter(bot_id=bot) if bot else queryset

    def list(self, request: Request) -> Response:
        bot = request.query_params.get("bot")
        if bot and not _is_uuid(bot):
            return Response(
                error_body("validation_error", "Invalid input.", {"bot": ["Not a valid UUID."]}), status=400
            )
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConversationSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ConversationSerializer(self.get_object()).data)

    @extend_schema(
        tags=CONVERSATION_TAGS, summary="List a conversation's messages", responses=MessageSerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def messages(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        paginator = MessagePagination()
        queryset = selectors.conversation_messages(organization=self.organization, conversation=conversation)
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(
        tags=CONVERSATION_TAGS, summary="Export a conversation as JSON", responses=ConversationExportSerializer
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        response = Response(conversation_export(conversation=conversation))
        response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.pk}.json"'
        return response


class FeedbackView(OrganizationAPIView):
    model = Message
    required_roles = {"POST": Role.MEMBER}
    required_scopes = {"POST": "chat"}

    @extend_schema(
        tags=CONVERSATION_TAGS,
        summary="Thumbs up or down on an answer",
        request=FeedbackInputSerializer,
        responses={201: FeedbackOutputSerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        message = selectors.message_get(organization=self.organization, message_id=pk)
        require_access(self.actor, kind="bot", resource_id=message.conversation.bot_id)
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = feedback_give(actor=self.actor, message=message, **data.validated_data)
        return Response(FeedbackOutputSerializer(feedback).data, status=status.HTTP_201_CREATED)
