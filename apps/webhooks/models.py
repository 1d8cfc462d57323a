"""Webhook endpoints (where an organization wants to hear about events) and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from common.core.models import OrgScopedModel
from common.security.encryption import EncryptedTextField


class DisabledReason(models.TextChoices):
    NONE = "", "Enabled"
    MANUAL = "manual", "Disabled by an admin"
    FAILING = "failing", "Disabled after repeated failures"


class WebhookEndpoint(OrgScopedModel):
    """A URL that receives the events it subscribed to, signed with its secret (Standard Webhooks)."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=60), default=list)
    secret = EncryptedTextField()  # whsec_<base64>: shown once, stored encrypted
    # After a rotation the old secret signs too, until it expires (receivers switch without losing deliveries)
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=20, choices=DisabledReason.choices, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The sequence number the next delivery gets: deliveries are attempted in this order (ADR 0050)
    next_sequence = models.PositiveBigIntegerField(default=1)
    # Deliveries in a row that failed every attempt, and when the current run of failed attempts began
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # One worker at a time sends an endpoint's deliveries: it holds this lease while it does
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        return f"whsec_…{self.secret[-4:]}" if self.secret else ""


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(OrgScopedModel):
    """One event for one endpoint: the exact body sent, its state and every attempt made."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    sequence = models.PositiveBigIntegerField()
    event_id = models.CharField(max_length=64)  # the message id: webhook-id is msg_<event_id> on every attempt
    event_type = models.CharField(max_length=60)
    body = models.TextField()  # the JSON sent, kept byte for byte so every attempt signs the same payload
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)  # attempts since it was (re)queued
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # [{"at", "status_code", "latency_ms", "response_body", "error", "succeeded"}], oldest first
    attempts = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "sequence"], name="uniq_webhook_delivery_sequence"),
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="uniq_webhook_delivery_event"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "status", "sequence"]),
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.sequence} → {self.endpoint_id}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.event_id}"
