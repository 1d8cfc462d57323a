"""Input and output shapes of the API-key management and usage endpoints."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from apps.api_keys.models import ALL_SCOPES, APIKey, OrganizationAPILimits
from common.core.fields import model_integer_field
from common.core.names import validate_no_control_characters


def _limit_field(model: type[APIKey] | type[OrganizationAPILimits], name: str) -> serializers.IntegerField:
    return model_integer_field(model, name, min_value=1, required=False, allow_null=True)


class APIKeyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    display = serializers.CharField(help_text="The prefix and last four characters: enough to recognise a key.")
    status = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.CharField())
    bot_ids = serializers.ListField(child=serializers.UUIDField())
    collection_ids = serializers.ListField(child=serializers.UUIDField())
    rate_limit_per_minute = serializers.IntegerField(allow_null=True)
    daily_request_quota = serializers.IntegerField(allow_null=True)
    monthly_request_quota = serializers.IntegerField(allow_null=True)
    daily_token_quota = serializers.IntegerField(allow_null=True)
    monthly_token_quota = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_ip = serializers.IPAddressField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)

    def get_status(self, api_key: APIKey) -> str:
        if api_key.revoked_at is not None:
            return "revoked"
        if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
            return "expired"
        return "active"


class APIKeyIssuedSerializer(APIKeyOutputSerializer):
    key = serializers.CharField(help_text="The full key. Shown only in this response: store it now.")


class APIKeyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, validators=[validate_no_control_characters])
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES), allow_empty=False)
    bot_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)
    collection_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    rate_limit_per_minute = _limit_field(APIKey, "rate_limit_per_minute")
    daily_request_quota = _limit_field(APIKey, "daily_request_quota")
    monthly_request_quota = _limit_field(APIKey, "monthly_request_quota")
    daily_token_quota = _limit_field(APIKey, "daily_token_quota")
    monthly_token_quota = _limit_field(APIKey, "monthly_token_quota")


class OrganizationAPILimitsSerializer(serializers.Serializer):
    daily_request_quota = _limit_field(OrganizationAPILimits, "daily_request_quota")
    monthly_request_quota = _limit_field(OrganizationAPILimits, "monthly_request_quota")
    daily_token_quota = _limit_field(OrganizationAPILimits, "daily_token_quota")
    monthly_token_quota = _limit_field(OrganizationAPILimits, "monthly_token_quota")


class UsageQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First UTC day (default: 29 days before end).")
    end = serializers.DateField(required=False, help_text="Last UTC day (default: today).")


class KeyUsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    api_key_id = serializers.UUIDField()
    requests = serializers.IntegerField()
    tokens = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a field, not Serializer.errors


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    requests = serializers.IntegerField()
    tokens = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a field, not Serializer.errors


def issued_data(api_key: APIKey, plaintext: str) -> dict[str, Any]:
    data: dict[str, Any] = dict(APIKeyOutputSerializer(api_key).data)
    data["key"] = plaintext
    return data
