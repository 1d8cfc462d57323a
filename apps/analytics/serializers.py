"""What the analytics API reads from the query string."""

from __future__ import annotations

from rest_framework import serializers


class WindowQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First UTC day (default: 29 days before end).")
    end = serializers.DateField(required=False, help_text="Last UTC day (default: today).")
    bot = serializers.UUIDField(required=False, help_text="Only this bot's conversations.")
