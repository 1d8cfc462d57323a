"""Serializers of bots, chat turns, conversations, messages and feedback."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.chatbot.models import Chatbot, Conversation, Feedback, Message, SenderKind, Tone
from apps.chatbot.services.bots import BOT_FIELDS
from apps.chatbot.services.conversations import message_sender_summary
from apps.chatbot.widget_theme import widget_theme_clean
from apps.chatbot_provider.models import ChatbotProvider
from common.core.errors import ValidationFailed
from common.core.fields import OptionalURLField
from common.core.names import validate_no_control_characters


class BotOutputSerializer(serializers.ModelSerializer[Chatbot]):
    collections = serializers.SerializerMethodField()
    avatar_url = OptionalURLField(read_only=True, help_text="The widget's avatar; null for none.")
    identity_secret_set = serializers.SerializerMethodField(
        help_text="Whether the bot has a widget identity secret (the secret itself is shown once, when made)."
    )

    class Meta:
        model = Chatbot
        fields = [
            "id",
            *BOT_FIELDS,
            "publishable_key",
            "identity_secret_set",
            "collections",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_identity_secret_set(self, obj: Chatbot) -> bool:
        return bool(obj.identity_secret)

    def get_collections(self, obj: Chatbot) -> list[str]:
        # .all() reads the prefetched collections of a list (values_list would query once per bot).
        return [str(collection.pk) for collection in obj.collections.all()] if obj.pk else []


@extend_schema_field(OpenApiTypes.UUID)
class _OrgProviderField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    def get_queryset(self) -> Any:
        organization = self.context.get("organization")
        return ChatbotProvider.objects.for_org(organization) if organization else ChatbotProvider.objects.none()


class BotInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120, validators=[validate_no_control_characters])
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    system_prompt = serializers.CharField(required=False, allow_blank=True, max_length=8000)
    tone = serializers.ChoiceField(choices=Tone.choices, required=False)
    provider = _OrgProviderField(
        queryset=ChatbotProvider.objects.none(),
        required=False,
        allow_null=True,
        help_text="Null: the built-in offline answerer.",
    )
    model = serializers.CharField(required=False, allow_blank=True, max_length=120)
    fallback_provider = _OrgProviderField(queryset=ChatbotProvider.objects.none(), required=False, allow_null=True)
    temperature = serializers.FloatField(required=False, min_value=0, max_value=2)
    max_answer_tokens = serializers.IntegerField(required=False, min_value=16, max_value=8000)
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=30)
    min_relevance = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="Cosine floor for the passages an answer may use; null: calibrated for each collection's embedder.",
    )
    dont_know_message = serializers.CharField(required=False, max_length=1000)
    welcome_message = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    suggested_questions = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, max_length=10
    )
    allowed_origins = serializers.ListField(child=serializers.URLField(max_length=300), required=False, max_length=50)
    widget_theme = serializers.DictField(required=False, help_text="Widget colours, size, font (docs/widget.md).")
    avatar_url = OptionalURLField(required=False, allow_blank=True, max_length=500, help_text="Empty or null: none.")
    allow_any_origin = serializers.BooleanField(
        required=False, help_text="Any site may embed the widget (allowed_origins is then ignored)."
    )
    require_identity = serializers.BooleanField(required=False, help_text="Only visitors with a signed identity.")
    widget_daily_message_budget = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=10_000_000, help_text="Null: no budget."
    )
    widget_daily_token_budget = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_000_000_000, help_text="Null: no budget."
    )
    handoff_enabled = serializers.BooleanField(required=False)
    collections = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)

    def validate_avatar_url(self, value: str | None) -> str:
        return value or ""

    def validate_widget_theme(self, value: Any) -> dict[str, Any]:
        try:
            return widget_theme_clean(value)
        except ValidationFailed as error:
            raise serializers.ValidationError(error.details["widget_theme"]) from None


CHAT_INPUT_MAX_CHARS = 100_000


class ChatInputSerializer(serializers.Serializer[Any]):
    message = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=CHAT_INPUT_MAX_CHARS)
    conversation_id = serializers.UUIDField(required=False, allow_null=True)


def chat_input_read(data: Any) -> tuple[str, uuid.UUID | None]:
    """The question and the conversation id of a chat request, as `ChatInputSerializer` validates them (ADR 0133).

    The usual body (a JSON object whose `message` is a string the serializer accepts as it is, and whose
    `conversation_id` is absent, null or a UUID string) is read directly: building the serializer deep-copies its
    declared fields on every request. Any other body goes through the serializer, so what it refuses is refused with
    its own 400 in the common error format, and what it coerces (a number as the message, a form body) it coerces.
    """
    if type(data) is dict:
        message = data.get("message")
        conversation_id = data.get("conversation_id")
        if type(message) is str and len(message) <= CHAT_INPUT_MAX_CHARS and "\x00" not in message:
            try:
                message.encode()  # a lone surrogate (from a JSON escape) cannot be encoded: the serializer refuses it
                if conversation_id is None:
                    return message, None
                if type(conversation_id) is str:
                    return message, uuid.UUID(hex=conversation_id)
            except (UnicodeEncodeError, ValueError):
                pass
    serializer = ChatInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["message"], serializer.validated_data.get("conversation_id")


class CitationSerializer(serializers.Serializer[Any]):
    marker = serializers.IntegerField()
    document_id = serializers.UUIDField()
    document_title = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField(allow_blank=True)
    chunk_id = serializers.UUIDField()
    collection_id = serializers.UUIDField()
    snippet = serializers.CharField()
    score = serializers.FloatField()


class UsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()


class LatencySerializer(serializers.Serializer[Any]):
    retrieval = serializers.IntegerField(allow_null=True)
    first_token = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField(allow_null=True)


class ChatOutputSerializer(serializers.Serializer[Any]):
    conversation_id = serializers.UUIDField()
    user_message_id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    user_message_seq = serializers.IntegerField(help_text="The question's number in its conversation.")
    seq = serializers.IntegerField(help_text="The answer's number in its conversation.")
    status = serializers.ChoiceField(choices=Message.Status.choices)
    answer = serializers.CharField(allow_blank=True)
    citations = CitationSerializer(many=True)
    model = serializers.CharField(allow_blank=True)
    usage = UsageSerializer()
    latency_ms = LatencySerializer()


@cache
def _chat_output() -> ChatOutputSerializer:
    """One ChatOutputSerializer per process, its fields (and its nested serializers' fields) bound once."""
    return ChatOutputSerializer()


def chat_output_data(body: dict[str, Any]) -> dict[str, Any]:
    """`ChatOutputSerializer(body).data` of a collected answer without building the serializer and its five nested
    field sets per answer (ADR 0133): the serializer's own representation, from fields bound once per process (they
    keep no state of a request's)."""
    data: dict[str, Any] = _chat_output().to_representation(body)
    return data


class ConversationSerializer(serializers.ModelSerializer[Conversation]):
    class Meta:
        model = Conversation
        fields = ["id", "kind", "bot", "title", "source", "user", "created_at", "last_message_at"]
        read_only_fields = fields


class SenderSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=SenderKind.choices)
    id = serializers.CharField(
        allow_null=True, help_text="The member, bot or API key id, or the widget visitor's id; null if unknown."
    )


class MessageSerializer(serializers.ModelSerializer[Message]):
    citations = CitationSerializer(many=True, read_only=True)
    sender = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()
    latency_ms = serializers.SerializerMethodField()
    feedback = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "seq",
            "sender",
            "role",
            "content",
            "status",
            "citations",
            "model",
            "usage",
            "latency_ms",
            "error_code",
            "error_message",
            "feedback",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SenderSerializer)
    def get_sender(self, obj: Message) -> dict[str, Any]:
        return message_sender_summary(obj)

    def get_usage(self, obj: Message) -> dict[str, int]:
        return {"prompt_tokens": obj.prompt_tokens, "completion_tokens": obj.completion_tokens}

    def get_latency_ms(self, obj: Message) -> dict[str, int | None]:
        return {"retrieval": obj.retrieval_ms, "first_token": obj.ttft_ms, "total": obj.total_ms}

    def get_feedback(self, obj: Message) -> str | None:
        feedback = getattr(obj, "feedback", None) if hasattr(obj, "feedback") else None
        return feedback.rating if feedback else None


class FeedbackInputSerializer(serializers.Serializer[Any]):
    rating = serializers.ChoiceField(choices=Feedback.Rating.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class FeedbackOutputSerializer(serializers.ModelSerializer[Feedback]):
    class Meta:
        model = Feedback
        fields = ["id", "message", "rating", "comment", "created_at", "updated_at"]
        read_only_fields = fields


class ConversationExportSerializer(serializers.Serializer[Any]):
    conversation = serializers.DictField()
    messages = serializers.ListField(child=serializers.DictField())


class ChatTokenEventSerializer(serializers.Serializer[Any]):
    """Data of an SSE `token` event: the next piece of the answer."""

    text = serializers.CharField(allow_blank=True)


class ChatCitationsEventSerializer(serializers.Serializer[Any]):
    """Data of the SSE `citations` event, sent once after the last token."""

    citations = CitationSerializer(many=True)


class ChatDoneEventSerializer(serializers.Serializer[Any]):
    """Data of the SSE `done` event, the last one of a turn that succeeded."""

    conversation_id = serializers.UUIDField()
    user_message_id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Message.Status.choices)
    model = serializers.CharField(allow_blank=True)
    usage = UsageSerializer()
    latency_ms = LatencySerializer()


class ChatErrorEventSerializer(serializers.Serializer[Any]):
    """Data of the SSE `error` event, the last one of a turn that failed.

    Refused before the turn starts (4xx): `code`, `message`, `details`, with the HTTP status of the error. Failed
    while answering (after any tokens): `code`, `message` and the saved turn's ids, status, model, usage, latency."""

    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(required=False)
    conversation_id = serializers.UUIDField(required=False)
    user_message_id = serializers.UUIDField(required=False)
    message_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=Message.Status.choices, required=False)
    model = serializers.CharField(allow_blank=True, required=False)
    usage = UsageSerializer(required=False)
    latency_ms = LatencySerializer(required=False)
