"""API-key management (owners and admins, signed in: never with an API key) and usage endpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_keys import selectors, services
from apps.api_keys.models import APIKey
from apps.api_keys.serializers import (
    APIKeyInputSerializer,
    APIKeyIssuedSerializer,
    APIKeyOutputSerializer,
    KeyUsageDaySerializer,
    OrganizationAPILimitsSerializer,
    UsageQuerySerializer,
    issued_data,
)
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView, OrganizationGenericAPIView
from common.core.schema import error_responses

TAGS = ["api keys"]
ADMIN_ONLY = {"GET": Role.ADMIN, "POST": Role.ADMIN, "PATCH": Role.ADMIN, "PUT": Role.ADMIN, "DELETE": Role.ADMIN}


class _AdminOnly:
    """Key management is for signed-in owners and admins: no `required_scopes`, so API keys are refused."""

    required_roles = ADMIN_ONLY
    # For the tenant-isolation suite: what the restriction fields reference (None: no such model yet).
    isolation_field_models = services.restriction_models()


def _window(request: Request) -> tuple[Any, Any]:
    query = UsageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return selectors.usage_window(start=query.validated_data.get("start"), end=query.validated_data.get("end"))


class APIKeyListCreateAPI(_AdminOnly, OrganizationGenericAPIView):
    model = APIKey
    serializer_class = APIKeyOutputSerializer

    @extend_schema(
        responses=APIKeyOutputSerializer(many=True), tags=TAGS, summary="List API keys", operation_id="api_keys_list"
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.api_key_list(organization=self.organization))
        return self.get_paginated_response(APIKeyOutputSerializer(page, many=True).data)

    @extend_schema(
        request=APIKeyInputSerializer,
        responses={201: APIKeyIssuedSerializer, **error_responses(409)},
        tags=TAGS,
        summary="Create an API key (the full key is in this response only)",
        operation_id="api_keys_create",
    )
    def post(self, request: Request) -> Response:
        data = APIKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.api_key_create(organization=self.organization, actor=self.actor, **data.validated_data)
        return Response(issued_data(issued.api_key, issued.plaintext), status=status.HTTP_201_CREATED)


class APIKeyDetailAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        responses=APIKeyOutputSerializer, tags=TAGS, summary="Get an API key", operation_id="api_keys_retrieve"
    )
    def get(self, request: Request, api_key_id: UUID) -> Response:
        api_key = selectors.api_key_get(organization=self.organization, api_key_id=api_key_id)
        return Response(APIKeyOutputSerializer(api_key).data)

    @extend_schema(
        request=APIKeyInputSerializer(partial=True),
        responses={200: APIKeyOutputSerializer, **error_responses(409)},
        tags=TAGS,
        summary="Change an API key's name, scopes, restrictions, limits or expiry",
        operation_id="api_keys_update",
    )
    def patch(self, request: Request, api_key_id: UUID) -> Response:
        data = APIKeyInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        api_key = services.api_key_update(
            organization=self.organization, actor=self.actor, api_key_id=api_key_id, **data.validated_data
        )
        return Response(APIKeyOutputSerializer(api_key).data)


class APIKeyRevokeAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        request=None,
        responses=APIKeyOutputSerializer,
        tags=TAGS,
        summary="Revoke an API key at once",
        operation_id="api_keys_revoke",
    )
    def post(self, request: Request, api_key_id: UUID) -> Response:
        api_key = services.api_key_revoke(organization=self.organization, actor=self.actor, api_key_id=api_key_id)
        return Response(APIKeyOutputSerializer(api_key).data)


class APIKeyRotateAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        request=None,
        responses={200: APIKeyIssuedSerializer, **error_responses(409)},
        tags=TAGS,
        summary="Give an API key a new secret (shown once); the old secret stops working",
        operation_id="api_keys_rotate",
    )
    def post(self, request: Request, api_key_id: UUID) -> Response:
        issued = services.api_key_rotate(organization=self.organization, actor=self.actor, api_key_id=api_key_id)
        return Response(issued_data(issued.api_key, issued.plaintext))


class APIKeyUsageAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        parameters=[UsageQuerySerializer],
        responses=KeyUsageDaySerializer(many=True),
        tags=TAGS,
        summary="One API key's requests, tokens and errors per day",
        operation_id="api_keys_usage_for_key",
    )
    def get(self, request: Request, api_key_id: UUID) -> Response:
        api_key = selectors.api_key_get(organization=self.organization, api_key_id=api_key_id)
        start, end = _window(request)
        usage = selectors.usage_per_key_day(organization=self.organization, start=start, end=end, api_key_id=api_key.pk)
        return Response(KeyUsageDaySerializer(usage, many=True).data)


class APIKeysUsageAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        parameters=[UsageQuerySerializer],
        responses=KeyUsageDaySerializer(many=True),
        tags=TAGS,
        summary="Requests, tokens and errors per day per API key",
        operation_id="api_keys_usage",
    )
    def get(self, request: Request) -> Response:
        start, end = _window(request)
        usage = selectors.usage_per_key_day(organization=self.organization, start=start, end=end)
        return Response(KeyUsageDaySerializer(usage, many=True).data)


class OrganizationAPILimitsAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        responses=OrganizationAPILimitsSerializer,
        tags=TAGS,
        summary="The organization's API quotas",
        operation_id="api_limits_retrieve",
    )
    def get(self, request: Request) -> Response:
        row = selectors.organization_api_limits(organization=self.organization)
        return Response(OrganizationAPILimitsSerializer(row).data)

    @extend_schema(
        request=OrganizationAPILimitsSerializer,
        responses=OrganizationAPILimitsSerializer,
        tags=TAGS,
        summary="Set the organization's API quotas (null = the deployment default)",
        operation_id="api_limits_update",
    )
    def patch(self, request: Request) -> Response:
        data = OrganizationAPILimitsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        row = services.organization_api_limits_update(
            organization=self.organization, actor=self.actor, **data.validated_data
        )
        return Response(OrganizationAPILimitsSerializer(row).data)
