"""Input and output shapes of the webhook endpoints API."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.webhooks.models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint
from common.core.names import validate_no_control_characters
from common.events import EventType


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.ChoiceField(choices=DisabledReason.choices)
    disabled_at = serializers.DateTimeField(allow_null=True)
    secret_hint = serializers.CharField(help_text="The last four characters of the signing secret.")
    consecutive_failures = serializers.IntegerField(
        help_text="Deliveries in a row that failed every attempt (reset by a success)."
    )
    failing_since = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_failure_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointIssuedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…). Shown only in this response: store it now.")


def issued_data(endpoint: WebhookEndpoint, secret: str) -> dict[str, Any]:
    return {**WebhookEndpointOutputSerializer(endpoint).data, "secret": secret}


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="An http(s) URL on a public address.")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.values), allow_empty=False, max_length=len(EventType.values)
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, validators=[validate_no_control_characters]
    )
    enabled = serializers.BooleanField(required=False)


class WebhookAttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    response_body = serializers.CharField(help_text="The start of the receiver's answer.")
    error = serializers.CharField()
    succeeded = serializers.BooleanField()


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint_id = serializers.UUIDField()
    sequence = serializers.IntegerField(
        help_text="The endpoint's delivery number: deliveries are attempted in this order."
    )
    message_id = serializers.CharField(help_text="The webhook-id header: the same on every attempt.")
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempts = WebhookAttemptSerializer(many=True)


class WebhookDeliveryDetailSerializer(WebhookDeliveryOutputSerializer):
    payload = serializers.SerializerMethodField(help_text="The JSON body sent.")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, delivery: WebhookDelivery) -> Any:
        return json.loads(delivery.body)


class WebhookDeliveryQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
