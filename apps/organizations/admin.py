"""Django admin for organizations, memberships, invitations and the audit trail (read-mostly)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.organizations.models import AuditEvent, Invitation, Membership, Organization
from common.core.admin import CrossOrganizationAdmin, CrossOrganizationInline


class MembershipInline(CrossOrganizationInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(CrossOrganizationAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(CrossOrganizationAdmin):  # type: ignore[type-arg]
    list_display = ("email", "organization", "role", "expires_at", "accepted_at", "revoked_at")
    search_fields = ("email", "organization__name")
    exclude = ("token_hash",)
    readonly_fields = ("organization", "email", "invited_by", "accepted_at")


@admin.register(AuditEvent)
class AuditEventAdmin(CrossOrganizationAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "organization", "actor", "action", "target_type", "target_id")
    list_filter = ("action",)
    search_fields = ("organization__name", "action", "target_id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
