"""The widget door, /widget/v1/: sessions, history, sending (Server-Sent Events), feedback, asking for a person.

Called from other sites' pages, so it authenticates nothing the usual way: a session is opened with the bot's
publishable key from an allowed origin, and every other call carries the visitor token and the same Origin,
re-checked each time (apps.widget.services.visitor_authenticate). CORS headers are given here and nowhere
else (docs/widget.md, "Widget API").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from channels.db import database_sync_to_async
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.chatbot.encoders import sse_frame
from apps.chatbot.models import Chatbot, Message
from apps.chatbot.services.answer import ChatEvent, CitationsEvent, DoneEvent, ErrorEvent, TokenEvent, chat_turn_stream
from apps.chatbot.streaming import SSE_HEADERS, EventStreamRenderer, events_async, hands_over, stream_handover
from apps.widget import selectors, serializers
from apps.widget.handoff import handoff_request
from apps.widget.limits import read_rate_check
from apps.widget.origins import origin_allowed_by_any_bot
from apps.widget.schema import SEND_DESCRIPTION, WidgetAutoSchema, WidgetSendSchema, widget_errors
from apps.widget.services import (
    VisitorContext,
    WidgetSend,
    visitor_authenticate,
    visitor_conversation,
    widget_feedback_give,
    widget_message_send,
    widget_session_open,
)
from common.core.errors import ValidationFailed
from common.events import deliveries_held
from common.security.client_ip import client_ip

TAGS = ["Widget"]
CORS_ALLOW_HEADERS = "authorization, content-type, x-docent-key, x-request-id"
CORS_MAX_AGE = "600"


class JSONFirst(BaseContentNegotiation):
    """The widget door answers in the format the operation has (JSON, or a stream), whatever Accept says."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def cors_headers(response: HttpResponse, origin: str | None) -> HttpResponse:
    """Let the page read the answer when some bot may be embedded on its origin; never with credentials."""
    response["Vary"] = "Origin"
    if origin and origin_allowed_by_any_bot(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
    return response


class WidgetAPIView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [JSONParser]
    renderer_classes: list[Any] = [JSONRenderer]
    content_negotiation_class = JSONFirst
    schema = WidgetAutoSchema()
    needs_visitor = True
    visitor: VisitorContext

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.needs_visitor and request.method != "OPTIONS":
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header[:7].lower() == "bearer " else ""
            self.visitor = visitor_authenticate(
                token=token,
                origin=request.headers.get("Origin"),
                key=request.headers.get("X-Docent-Key") or None,
                ip=client_ip(request),
                request_id=getattr(request._request, "request_id", ""),
            )

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """CORS preflight: 204 with the allowance for an origin some bot may be embedded on, else 403."""
        origin = request.headers.get("Origin")
        if not origin_allowed_by_any_bot(origin):
            from apps.widget.errors import OriginNotAllowed

            raise OriginNotAllowed()
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Access-Control-Allow-Methods"] = ", ".join(m for m in self.allowed_methods if m != "OPTIONS")
        response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        response["Access-Control-Max-Age"] = CORS_MAX_AGE
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return cors_headers(response, request.headers.get("Origin"))

    def conversation_out(self) -> dict[str, Any] | None:
        return selectors.conversation_summary(visitor_conversation(visitor=self.visitor.visitor))


def _bot_out(bot: Chatbot) -> dict[str, Any]:
    return {
        "name": bot.name,
        "avatar_url": bot.avatar_url or None,
        "welcome_message": bot.welcome_message,
        "suggested_questions": list(bot.suggested_questions or []),
        "theme": dict(bot.widget_theme or {}),
        "handoff_enabled": bot.handoff_enabled,
    }


class SessionAPI(WidgetAPIView):
    needs_visitor = False

    @extend_schema(
        tags=TAGS,
        summary="Open a widget session",
        description="Checks the key and the page's Origin, and the signed identity when one is given or the bot "
        "requires it; returns a short-lived visitor token and the visitor's conversation, if any.",
        request=serializers.WidgetSessionInputSerializer,
        responses={200: serializers.WidgetSessionOutputSerializer, **widget_errors(400, 401, 403, 404, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        data = serializers.WidgetSessionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = widget_session_open(
            key=data.validated_data["key"],
            origin=request.headers.get("Origin"),
            resume=data.validated_data.get("resume", ""),
            identity=data.validated_data.get("identity", ""),
            ip=client_ip(request),
        )
        return Response(
            {
                "token": session.token,
                "expires_in": session.expires_in,
                "visitor": {
                    "id": session.visitor.public_id,
                    "verified": session.visitor.verified,
                    "resume": session.resume,
                },
                "bot": _bot_out(session.bot),
                "conversation": selectors.conversation_summary(session.conversation),
            }
        )


class ConversationAPI(WidgetAPIView):
    @extend_schema(
        tags=TAGS,
        summary="The visitor's conversation",
        description="Messages after `after` (a seq; 0 = from the start), at most 200 per call, in order.",
        parameters=[serializers.HistoryQuerySerializer],
        responses={200: serializers.HistoryOutputSerializer, **widget_errors(400, 401, 403, 429)},
    )
    def get(self, request: Request) -> Response:
        query = serializers.HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        read_rate_check(visitor_id=self.visitor.visitor.public_id)
        conversation = visitor_conversation(visitor=self.visitor.visitor)
        messages = (
            selectors.conversation_messages(conversation=conversation, after=query.validated_data["after"])
            if conversation is not None
            else []
        )
        return Response({"conversation": selectors.conversation_summary(conversation), "messages": messages})


def _message_out(message: Message, bot: Chatbot) -> dict[str, Any]:
    message = Message.objects.for_org(bot.organization_id).select_related("feedback", "sender_user").get(pk=message.pk)
    return selectors.widget_message(message, bot=bot)


def _encode(event: ChatEvent, bot: Chatbot) -> bytes:
    """One chat event as the widget's Server-Sent Event (reads the database for citations and the answer)."""
    if isinstance(event, TokenEvent):
        return sse_frame("token", {"text": event.text})
    if isinstance(event, CitationsEvent):
        return sse_frame("citations", {"citations": selectors.widget_citations(bot.organization_id, event.citations)})
    if isinstance(event, DoneEvent):
        answer = Message.objects.for_org(bot.organization_id).get(pk=event.data["message_id"])
        out = _message_out(answer, bot)
        return sse_frame("done", {"message": out, "offer_handoff": out["offer_handoff"], "duplicate": False})
    if isinstance(event, ErrorEvent):
        return sse_frame("error", {"code": event.code, "message": event.message})
    raise TypeError(type(event).__name__)


def _stream_sync(sent: WidgetSend, bot: Chatbot, first: bytes) -> Iterator[bytes]:
    yield first
    assert sent.turn is not None
    for event in chat_turn_stream(sent.turn):
        yield _encode(event, bot)


async def _stream_async(sent: WidgetSend, bot: Chatbot, first: bytes) -> AsyncIterator[bytes]:
    yield first
    assert sent.turn is not None
    encode = database_sync_to_async(_encode)
    async with contextlib.aclosing(events_async(sent.turn)) as events:
        async for event in events:
            yield _encode(event, bot) if isinstance(event, TokenEvent | ErrorEvent) else await encode(event, bot)


def _replay(sent: WidgetSend, bot: Chatbot, first: bytes) -> Iterator[bytes]:
    yield first
    if sent.reply is not None:
        out = _message_out(sent.reply, bot)
        yield sse_frame("done", {"message": out, "offer_handoff": out["offer_handoff"], "duplicate": True})


class SendAPI(WidgetAPIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    schema = WidgetSendSchema()

    @extend_schema(
        tags=TAGS,
        summary="Send a message",
        description=SEND_DESCRIPTION,
        request=serializers.SendInputSerializer,
        responses={
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, description="message/token/citations/done"),
            (202, "application/json"): serializers.HeldOutputSerializer,
            **widget_errors(400, 401, 403, 413, 415, 429),
        },
    )
    def post(self, request: Request) -> Any:
        data = serializers.SendInputSerializer(data=request.data)
        if not data.is_valid():
            raise ValidationFailed(details=data.errors)
        # A stream's client waits for the first token: the message's events (the doorbells, the handoff inbox, the
        # webhooks) and its turn's marker go out once the provider has been asked, before the view returns (ADR 0137).
        with deliveries_held():
            return self._sent(request, data)

    def _sent(self, request: Request, data: serializers.SendInputSerializer) -> Any:
        bot = self.visitor.bot
        sent = widget_message_send(
            context=self.visitor,
            text=data.validated_data["text"],
            client_msg_id=data.validated_data.get("client_msg_id"),
        )
        visitor_message = _message_out(sent.message, bot)
        if sent.turn is None and sent.reply is None and sent.state != "bot":
            held = {"message": visitor_message, "state": sent.state, "duplicate": sent.duplicate}
            return Response(held, status=status.HTTP_202_ACCEPTED)
        first = sse_frame("message", visitor_message)
        stream: Iterator[bytes] | AsyncIterator[bytes]
        if sent.turn is None:
            stream = _replay(sent, bot, first)
        elif hands_over(request._request):
            stream_handover(sent.turn)
            stream = _stream_async(sent, bot, first)
        else:
            stream = _stream_sync(sent, bot, first)
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        for key, value in SSE_HEADERS.items():
            response[key] = value
        return response


class FeedbackAPI(WidgetAPIView):
    @extend_schema(
        tags=TAGS,
        summary="Rate an answer",
        request=serializers.WidgetFeedbackInputSerializer,
        responses={200: serializers.WidgetFeedbackOutputSerializer, **widget_errors(400, 401, 403, 404, 413, 415, 429)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        data = serializers.WidgetFeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = widget_feedback_give(
            context=self.visitor,
            message_id=message_id,
            rating=data.validated_data["rating"],
            comment=data.validated_data.get("comment", ""),
        )
        return Response(
            {"message_id": str(feedback.message_id), "rating": feedback.rating, "comment": feedback.comment}
        )


class HandoffRequestAPI(WidgetAPIView):
    @extend_schema(
        tags=TAGS,
        summary="Ask for a person",
        description="bot → waiting. 409 `handoff_unavailable` when the bot does not hand over, "
        "`handoff_state_conflict` when a person was already asked for.",
        request=None,
        responses={200: serializers.HandoffOutputSerializer, **widget_errors(401, 403, 409, 429)},
    )
    def post(self, request: Request) -> Response:
        read_rate_check(visitor_id=self.visitor.visitor.public_id)
        conversation = handoff_request(context=self.visitor)
        return Response({"conversation": selectors.conversation_summary(conversation)})
