"""Provider serializers: the API key is write-only; responses show only a masked hint."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.chatbot_provider.models import ChatbotProvider, ProviderKind
from common.core.fields import OptionalURLField
from common.core.names import validate_no_control_characters
from common.security.encryption import mask


class ProviderOutputSerializer(serializers.ModelSerializer[ChatbotProvider]):
    has_api_key = serializers.SerializerMethodField()
    base_url = OptionalURLField(read_only=True, help_text="Null: the provider's public endpoint.")
    api_key_hint = serializers.SerializerMethodField()

    class Meta:
        model = ChatbotProvider
        fields = [
            "id",
            "name",
            "kind",
            "base_url",
            "default_chat_model",
            "default_embedding_model",
            "timeout_seconds",
            "max_retries",
            "has_api_key",
            "api_key_hint",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_api_key(self, obj: ChatbotProvider) -> bool:
        return bool(obj.api_key)

    def get_api_key_hint(self, obj: ChatbotProvider) -> str:
        return mask(obj.api_key) if obj.api_key else ""


class ProviderInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120, validators=[validate_no_control_characters])
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        trim_whitespace=True,
        help_text="Write-only. Leave empty on update to keep the stored key.",
    )
    base_url = OptionalURLField(
        required=False, allow_blank=True, max_length=500, help_text="Empty or null: the provider's public endpoint."
    )
    default_chat_model = serializers.CharField(required=False, allow_blank=True, max_length=120)
    default_embedding_model = serializers.CharField(required=False, allow_blank=True, max_length=120)
    timeout_seconds = serializers.FloatField(required=False, min_value=0.5, max_value=600)
    max_retries = serializers.IntegerField(required=False, min_value=0, max_value=5)

    def validate_base_url(self, value: str | None) -> str:
        return value or ""


class ConnectionTestSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    latency_ms = serializers.IntegerField()
    model = serializers.CharField()
    error_code = serializers.CharField(allow_blank=True)
