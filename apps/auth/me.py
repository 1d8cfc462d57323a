"""GET/PATCH /api/v1/me: the signed-in user's profile and memberships (auth sits above users and organizations)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.organizations.models import Membership
from apps.organizations.tenancy import request_identity
from apps.users.services import user_update_profile
from common.core.errors import PermissionDeniedError
from common.core.names import validate_no_control_characters


class MembershipSummarySerializer(serializers.Serializer):
    organization_id = serializers.UUIDField(source="organization.id")
    organization_name = serializers.CharField(source="organization.name")
    organization_slug = serializers.CharField(source="organization.slug")
    role = serializers.CharField()


class MeOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    email_verified = serializers.SerializerMethodField()
    date_joined = serializers.DateTimeField()
    organizations = serializers.SerializerMethodField()

    def get_email_verified(self, user: object) -> bool:
        return getattr(user, "email_verified_at", None) is not None

    @extend_schema_field(MembershipSummarySerializer(many=True))
    def get_organizations(self, user: Any) -> list[dict[str, object]]:
        memberships = Membership.objects.for_user(user).select_related("organization").order_by("created_at")
        return list(MembershipSummarySerializer(memberships, many=True).data)


class MeUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, allow_blank=True, validators=[validate_no_control_characters])


class MeAPI(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutputSerializer, tags=["account"])
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(request.user).data)

    @extend_schema(request=MeUpdateSerializer, responses=MeOutputSerializer, tags=["account"])
    def patch(self, request: Request) -> Response:
        if request_identity(request._request, request.auth).is_api_key:
            raise PermissionDeniedError("API keys have no user profile.")
        data = MeUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = user_update_profile(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(MeOutputSerializer(user).data)
