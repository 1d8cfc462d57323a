"""Request and response bodies of the organization, member and invitation endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.organizations.models import Invitation, Role
from common.core.names import validate_no_control_characters

PASSWORD_MAX = 256
TOKEN_MAX = 200


class OrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    slug = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class MyOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    slug = serializers.CharField(source="organization.slug")
    role = serializers.CharField()


class OrganizationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, validators=[validate_no_control_characters])


class OrganizationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, validators=[validate_no_control_characters])


class MemberSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The membership id (use it in /members/{id}).")
    user_id = serializers.UUIDField(source="user.id")
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField(source="created_at")


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()

    def get_invited_by(self, invitation: Invitation) -> str | None:
        return invitation.invited_by.email if invitation.invited_by else None

    def get_status(self, invitation: Invitation) -> str:
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "pending" if invitation.is_pending else "expired"


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX)
    password = serializers.CharField(
        max_length=PASSWORD_MAX,
        required=False,
        trim_whitespace=False,
        help_text="Only for someone without an account: the password of the account to create.",
    )
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[validate_no_control_characters]
    )


class InvitationAcceptedSerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    role = serializers.CharField()
    access = serializers.CharField(required=False, help_text="Only when a new account was created.")
    refresh = serializers.CharField(required=False, help_text="Only when a new account was created.")

    @staticmethod
    def body(membership: Any, tokens: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "organization": OrganizationSerializer(membership.organization).data,
            "role": membership.role,
            **(tokens or {}),
        }
