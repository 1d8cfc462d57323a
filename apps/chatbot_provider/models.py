"""An organization's connection to a model provider. The API key is encrypted at rest."""

from __future__ import annotations

from django.db import models

from common.core.models import OrgScopedModel
from common.security.encryption import EncryptedTextField

OFFLINE_EMBEDDING_MODEL = "offline-hash-v1"
OFFLINE_CHAT_MODEL = "offline-extractive-v1"


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    GEMINI = "gemini", "Google Gemini"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible server"
    OFFLINE = "offline", "Offline (no network)"
    LOCAL = "local", "Local model (no network)"


class ChatbotProvider(OrgScopedModel):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    api_key = EncryptedTextField(blank=True, default="")
    base_url = models.URLField(max_length=500, blank=True, default="")
    default_chat_model = models.CharField(max_length=120, blank=True, default="")
    default_embedding_model = models.CharField(max_length=120, blank=True, default="")
    timeout_seconds = models.FloatField(default=30.0)
    max_retries = models.PositiveSmallIntegerField(default=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_provider_name_per_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
