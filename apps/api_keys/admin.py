"""Read-mostly admin for API keys: secrets are never stored, so never shown."""

from django.contrib import admin

from apps.api_keys.models import APIKey, APIKeyUsageDaily


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "organization", "revoked_at", "last_used_at", "created_at")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "secret_hash", "hash_version", "last_four", "last_used_at", "last_used_ip")


@admin.register(APIKeyUsageDaily)
class APIKeyUsageDailyAdmin(admin.ModelAdmin):
    list_display = ("api_key", "date", "requests", "tokens", "errors")
    list_filter = ("date",)
