"""The OpenAI-compatible door: GET /openai/v1/models and POST /openai/v1/chat/completions.

Thin like every API view: parse the OpenAI request, start the turn with chat_turn_open (the same bot,
restrictions, quotas, metering and answer pipeline as the REST door), and encode its events in OpenAI's
wire format. Errors on this prefix use OpenAI's shape (apps.openai_compat.errors).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_keys.authentication import APIKeyAuthentication
from apps.chatbot.models import Chatbot, Conversation
from apps.chatbot.services.answer import ChatTurn, chat_turn_stream
from apps.chatbot.services.turns import chat_turn_open
from apps.chatbot.streaming import SSE_HEADERS, events_async, hands_over, stream_handover
from apps.openai_compat.encoders import ChunkEncoder, completion_collect
from apps.openai_compat.errors import ModelNotFound, openai_exception_handler
from apps.openai_compat.serializers import (
    ChatCompletionInputSerializer,
    ChatCompletionSerializer,
    OpenAIErrorSerializer,
    OpenAIModelListSerializer,
    OpenAIModelSerializer,
)
from apps.openai_compat.services import CompletionRequest, completion_request_parse, generation_limits_apply
from apps.organizations.actors import require_access
from apps.organizations.authentication import MemberJWTAuthentication
from apps.organizations.models import Organization, Role
from apps.organizations.views_base import OrganizationAPIView
from common.core.errors import NotFound
from common.events import deliveries_held

TAGS = ["OpenAI-compatible"]
ERRORS = {
    code: OpenApiResponse(OpenAIErrorSerializer, description=f"OpenAI's error shape ({what}).")
    for code, what in {
        400: "invalid_request_error",
        401: "invalid_api_key",
        403: "permission_error",
        404: "model_not_found",
        429: "rate_limit_exceeded or insufficient_quota",
        503: "server_error: the database or the shared store for limits is unavailable",
    }.items()
}


class JSONOnly(BaseContentNegotiation):
    """Like OpenAI's API: the body is read as JSON whatever its Content-Type (curl's `-d` says it is a form),
    and the answer is JSON (or the stream the request asked for) whatever the Accept header says."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class OpenAIAPIView(OrganizationAPIView):
    """API keys (`Authorization: Bearer dk_…`) or a member's JWT; errors in OpenAI's shape."""

    authentication_classes = [APIKeyAuthentication, MemberJWTAuthentication]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    def get_exception_handler(self) -> Callable[..., Any]:
        return openai_exception_handler


def _model_entry(bot: Chatbot, organization: Organization) -> dict[str, Any]:
    return {
        "id": str(bot.pk),
        "object": "model",
        "created": int(bot.created_at.timestamp()),
        "owned_by": organization.slug,
        "name": bot.name,
    }


class ModelListView(OpenAIAPIView):
    model = Chatbot
    restricted_by = ("bot", "pk")
    required_roles = {"GET": Role.MEMBER}
    required_scopes = {"GET": "chat"}

    @extend_schema(
        tags=TAGS,
        operation_id="openai_models_list",
        summary="List the bots this caller may ask (OpenAI models)",
        responses={200: OpenAIModelListSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        bots = self.get_queryset().order_by("created_at", "pk")
        return Response({"object": "list", "data": [_model_entry(bot, self.organization) for bot in bots]})


class ModelDetailView(OpenAIAPIView):
    model = Chatbot
    resource_kwargs: dict[str, str] = {}
    required_roles = {"GET": Role.MEMBER}
    required_scopes = {"GET": "chat"}

    @extend_schema(
        tags=TAGS,
        operation_id="openai_models_retrieve",
        summary="Get one bot as an OpenAI model",
        responses={200: OpenAIModelSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: str) -> Response:
        try:
            bot_pk = uuid.UUID(pk)
        except ValueError:
            raise ModelNotFound(pk) from None
        bot = self.get_queryset().filter(pk=bot_pk).first()
        if bot is None:
            raise ModelNotFound(pk)
        require_access(self.actor, kind="bot", resource_id=bot.pk)
        return Response(_model_entry(bot, self.organization))


class ChatCompletionsView(OpenAIAPIView):
    """Ask a bot in OpenAI's chat completion format (JSON, or chat.completion.chunk events with stream=true)."""

    model = Chatbot
    resource_kwargs: dict[str, str] = {}
    required_roles = {"POST": Role.MEMBER}
    required_scopes = {"POST": "chat"}
    # For the tenant isolation suite: `model` names a bot; the other fields of its probe are a valid question.
    isolation_field_models = {"model": Chatbot}
    isolation_payload = {"messages": [{"role": "user", "content": "Which bot is this?"}]}

    @extend_schema(
        tags=TAGS,
        operation_id="openai_chat_completions_create",
        summary="Ask a bot (OpenAI chat completion)",
        description=(
            "`model` is a bot's id (GET /openai/v1/models). With `stream: true` the answer arrives as "
            "`chat.completion.chunk` Server-Sent Events ending with `data: [DONE]`; citations are `url_citation` "
            "annotations, and every source is in the `docent_sources` extension. See docs/openai-compatible.md."
        ),
        request=ChatCompletionInputSerializer,
        responses={
            (200, "application/json"): ChatCompletionSerializer,
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, description="chat.completion.chunk events"),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Any:
        data = ChatCompletionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        completion = completion_request_parse(data.validated_data)
        # A stream's client waits for the first chunk: the question's events and its turn's marker go out once the
        # provider has been asked (ADR 0137), and the question is saved then (ADR 0138).
        with deliveries_held() if completion.stream else contextlib.nullcontext():
            return self._complete(request, completion)

    def _complete(self, request: Request, completion: CompletionRequest) -> Any:
        try:
            turn = chat_turn_open(
                actor=self.actor,
                bot_id=completion.model,
                message=completion.question,
                history=completion.history,
                source=Conversation.Source.OPENAI,
                # under ASGI a stream's question is saved while the provider is asked (ADR 0138)
                save_question_later=completion.stream and hands_over(request._request),
            )
        except NotFound:
            raise ModelNotFound(completion.model) from None
        generation_limits_apply(bot=turn.bot, temperature=completion.temperature, max_tokens=completion.max_tokens)

        def document_url(document_id: str) -> str:
            return request.build_absolute_uri(reverse("document-detail", kwargs={"document_id": document_id}))

        completion_id = f"chatcmpl-{turn.user_message.pk.hex}"
        if completion.stream:
            encoder = ChunkEncoder(
                completion_id=completion_id,
                model=completion.model,
                document_url=document_url,
                include_usage=completion.include_usage,
                max_tokens=turn.bot.max_answer_tokens,
            )
            return _stream(request._request, turn, encoder)
        collected = completion_collect(
            chat_turn_stream(turn),
            completion_id=completion_id,
            model=completion.model,
            document_url=document_url,
            max_tokens=turn.bot.max_answer_tokens,
        )
        return Response(collected.body, status=collected.status_code)


def _frames_sync(turn: ChatTurn, encoder: ChunkEncoder) -> Iterator[bytes]:
    yield encoder.start()
    with contextlib.closing(chat_turn_stream(turn)) as events:
        for event in events:
            if frame := encoder.encode(event):
                yield frame


async def _frames_async(turn: ChatTurn, encoder: ChunkEncoder) -> AsyncIterator[bytes]:
    yield encoder.start()
    async with contextlib.aclosing(events_async(turn)) as events:
        async for event in events:
            if frame := encoder.encode(event):
                yield frame


def _stream(request: HttpRequest, turn: ChatTurn, encoder: ChunkEncoder) -> StreamingHttpResponse:
    """The turn as chunk events: from the async bridge under ASGI (a client that goes away leaves the partial
    answer saved as interrupted), from the generator under WSGI."""
    frames: Iterator[bytes] | AsyncIterator[bytes]
    if hands_over(request):
        stream_handover(turn)
        frames = _frames_async(turn, encoder)
    else:
        frames = _frames_sync(turn, encoder)
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    for key, value in SSE_HEADERS.items():
        response[key] = value
    return response
