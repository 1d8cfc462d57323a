"""Single-use tickets that open a WebSocket: the JWT or session never travels in a URL."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from common.core.models import OrgScopedManager, OrgScopedModel


class RealtimeTicket(OrgScopedModel):
    """Issued by POST /api/v1/realtime/tickets to a signed-in member; redeemed once, within seconds, by /ws/."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]
