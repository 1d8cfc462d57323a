"""API keys (scoped, budgeted, revocable), per-organization API limits, and daily usage per key."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from common.core.models import OrgScopedModel


class Scope(models.TextChoices):
    BOTS_READ = "bots:read", "Read bots"
    BOTS_WRITE = "bots:write", "Create, change and delete bots"
    DOCUMENTS_READ = "documents:read", "Read collections and documents"
    DOCUMENTS_WRITE = "documents:write", "Upload, change and delete documents"
    SEARCH = "search", "Search documents"
    CHAT = "chat", "Ask bots questions"
    CONVERSATIONS_READ = "conversations:read", "Read conversations"
    ANALYTICS_READ = "analytics:read", "Read usage and analytics"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)


class APIKey(OrgScopedModel):
    """A key `dk_<prefix>_<secret>`: the prefix finds the row, the keyed hash of the whole key proves it."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    hash_version = models.PositiveSmallIntegerField(default=1)
    last_four = models.CharField(max_length=4)
    scopes = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    # Empty list = every bot / collection of the organization.
    bot_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    collection_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    # Limits: None = the deployment default (settings.API_KEY_DEFAULTS); 0 = nothing allowed.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    daily_request_quota = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_request_quota = models.PositiveBigIntegerField(null=True, blank=True)
    daily_token_quota = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_token_quota = models.PositiveBigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} (dk_{self.prefix}_…{self.last_four})"

    @property
    def display(self) -> str:
        return f"dk_{self.prefix}_…{self.last_four}"


class OrganizationAPILimits(OrgScopedModel):
    """Quotas shared by all of an organization's keys (None = the deployment default)."""

    daily_request_quota = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_request_quota = models.PositiveBigIntegerField(null=True, blank=True)
    daily_token_quota = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_token_quota = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="uniq_api_limits_per_org")]


class APIKeyUsageDaily(OrgScopedModel):
    """Requests, LLM tokens and error responses of one key on one UTC day (written by the flush task)."""

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="usage_days")
    date = models.DateField()
    requests = models.PositiveBigIntegerField(default=0)
    tokens = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "date"], name="uniq_api_key_usage_day")]
        indexes = [models.Index(fields=["organization", "date"])]
