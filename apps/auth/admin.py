"""Django admin: one-time tokens are visible (for support) but their hashes are not editable."""

from __future__ import annotations

from django.contrib import admin

from apps.auth.models import EmailVerificationToken, PasswordResetToken


@admin.register(PasswordResetToken, EmailVerificationToken)
class OneTimeTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "created_at", "expires_at", "used_at")
    search_fields = ("user__email",)
    exclude = ("token_hash",)
    readonly_fields = ("user", "expires_at", "used_at")
