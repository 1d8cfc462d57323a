"""Provider API: admins manage their organization's model providers (API keys cannot: they hold secrets)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.chatbot_provider import services
from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.serializers import (
    ConnectionTestSerializer,
    ProviderInputSerializer,
    ProviderOutputSerializer,
)
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationViewSet
from common.core.schema import error_responses

TAGS = ["Providers"]


@extend_schema_view(
    list=extend_schema(tags=TAGS, responses=ProviderOutputSerializer(many=True), summary="List providers"),
    retrieve=extend_schema(tags=TAGS, responses=ProviderOutputSerializer, summary="Get a provider"),
    create=extend_schema(
        tags=TAGS, request=ProviderInputSerializer, responses={201: ProviderOutputSerializer}, summary="Add a provider"
    ),
    partial_update=extend_schema(
        tags=TAGS, request=ProviderInputSerializer, responses=ProviderOutputSerializer, summary="Change a provider"
    ),
    destroy=extend_schema(tags=TAGS, responses={204: None, **error_responses(409)}, summary="Delete a provider"),
)
class ProviderViewSet(OrganizationViewSet):
    model = ChatbotProvider
    serializer_class = ProviderOutputSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    # Providers hold secrets: admins only, for reading too, and no API-key access (no required_scopes).
    required_roles = {"GET": Role.ADMIN, "POST": Role.ADMIN, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.order_by("name")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProviderOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ProviderOutputSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        data = ProviderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = services.provider_create(organization=self.organization, actor=self.actor, **data.validated_data)
        return Response(ProviderOutputSerializer(provider).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        provider = self.get_object()
        data = ProviderInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        provider = services.provider_update(provider=provider, actor=self.actor, **data.validated_data)
        return Response(ProviderOutputSerializer(provider).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.provider_delete(provider=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=TAGS, request=None, responses=ConnectionTestSerializer, summary="Test the connection")
    @action(detail=True, methods=["post"], url_path="test")
    def test_connection(self, request: Request, pk: str) -> Response:
        result = services.provider_test_connection(provider=self.get_object())
        return Response(ConnectionTestSerializer(asdict(result)).data)
