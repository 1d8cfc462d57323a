"""Django admin for API keys: read-only (changes must go through the services, which invalidate caches),
with a revoke action. Secrets are never stored, so never shown."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.api_keys.models import APIKey, APIKeyUsageDaily
from apps.api_keys.services import api_key_revoke
from apps.organizations.tenancy import request_identity
from common.core.admin import CrossOrganizationAdmin


@admin.register(APIKey)
class APIKeyAdmin(CrossOrganizationAdmin):
    list_display = ("name", "prefix", "organization", "revoked_at", "last_used_at", "created_at")
    search_fields = ("name", "prefix")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        for api_key in queryset.select_related("organization"):
            actor = request_identity(request).in_organization(api_key.organization)  # staff, across organizations
            api_key_revoke(organization=api_key.organization, actor=actor, api_key_id=api_key.pk)
        messages.success(request, f"Revoked {queryset.count()} key(s).")


@admin.register(APIKeyUsageDaily)
class APIKeyUsageDailyAdmin(CrossOrganizationAdmin):
    list_display = ("api_key", "date", "requests", "tokens", "errors")
    list_filter = ("date",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
