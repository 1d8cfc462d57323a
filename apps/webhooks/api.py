"""Webhook endpoint management (owners and admins, signed in: never with an API key) and deliveries."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView, OrganizationGenericAPIView
from apps.webhooks import selectors, services
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.webhooks.serializers import (
    WebhookDeliveryDetailSerializer,
    WebhookDeliveryOutputSerializer,
    WebhookDeliveryQuerySerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointIssuedSerializer,
    WebhookEndpointOutputSerializer,
    issued_data,
)

TAGS = ["webhooks"]
ADMIN_ONLY = {"GET": Role.ADMIN, "POST": Role.ADMIN, "PATCH": Role.ADMIN, "PUT": Role.ADMIN, "DELETE": Role.ADMIN}


class _AdminOnly:
    """Webhooks hold signing secrets and reach out of Docent: signed-in owners and admins only. No
    `required_scopes`, so API keys are refused."""

    required_roles = ADMIN_ONLY
    model: Any = WebhookEndpoint
    isolation_kwarg_models = {"delivery_id": WebhookDelivery}


class DeliveryPagination(CursorPagination):
    ordering = "-sequence"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class WebhookEndpointListCreateAPI(_AdminOnly, OrganizationGenericAPIView):
    serializer_class = WebhookEndpointOutputSerializer

    @extend_schema(
        responses=WebhookEndpointOutputSerializer(many=True),
        tags=TAGS,
        summary="List webhook endpoints",
        operation_id="webhooks_list",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.webhook_endpoint_list(organization=self.organization))
        return self.get_paginated_response(WebhookEndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointIssuedSerializer},
        tags=TAGS,
        summary="Add a webhook endpoint (its signing secret is in this response only)",
        operation_id="webhooks_create",
    )
    def post(self, request: Request) -> Response:
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.webhook_endpoint_create(
            organization=self.organization, actor=self.actor, **data.validated_data
        )
        return Response(issued_data(issued.endpoint, issued.secret), status=status.HTTP_201_CREATED)


class WebhookEndpointDetailAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        responses=WebhookEndpointOutputSerializer,
        tags=TAGS,
        summary="Get a webhook endpoint",
        operation_id="webhooks_retrieve",
    )
    def get(self, request: Request, pk: UUID) -> Response:
        endpoint = selectors.webhook_endpoint_get(organization=self.organization, endpoint_id=pk)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        request=WebhookEndpointInputSerializer(partial=True),
        responses=WebhookEndpointOutputSerializer,
        tags=TAGS,
        summary="Change a webhook endpoint's URL, events, description, or enable / disable it",
        operation_id="webhooks_update",
    )
    def patch(self, request: Request, pk: UUID) -> Response:
        data = WebhookEndpointInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            organization=self.organization, actor=self.actor, endpoint_id=pk, **data.validated_data
        )
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        request=None,
        responses={204: None},
        tags=TAGS,
        summary="Delete a webhook endpoint and its deliveries",
        operation_id="webhooks_destroy",
    )
    def delete(self, request: Request, pk: UUID) -> Response:
        services.webhook_endpoint_delete(organization=self.organization, actor=self.actor, endpoint_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        request=None,
        responses=WebhookEndpointIssuedSerializer,
        tags=TAGS,
        summary="Give an endpoint a new signing secret (shown once); the old one also signs for a grace period",
        operation_id="webhooks_rotate_secret",
    )
    def post(self, request: Request, pk: UUID) -> Response:
        issued = services.webhook_endpoint_rotate_secret(
            organization=self.organization, actor=self.actor, endpoint_id=pk
        )
        return Response(issued_data(issued.endpoint, issued.secret))


class WebhookEndpointTestAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        request=None,
        responses={202: WebhookDeliveryOutputSerializer},
        tags=TAGS,
        summary="Send a webhook.test event to the endpoint",
        operation_id="webhooks_test",
    )
    def post(self, request: Request, pk: UUID) -> Response:
        delivery = services.webhook_endpoint_send_test(organization=self.organization, actor=self.actor, endpoint_id=pk)
        delivery.refresh_from_db()
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListAPI(_AdminOnly, OrganizationGenericAPIView):
    serializer_class = WebhookDeliveryOutputSerializer
    pagination_class = DeliveryPagination

    @extend_schema(
        parameters=[WebhookDeliveryQuerySerializer],
        responses=WebhookDeliveryOutputSerializer(many=True),
        tags=TAGS,
        summary="List an endpoint's deliveries, newest first",
        operation_id="webhooks_deliveries_list",
    )
    def get(self, request: Request, pk: UUID) -> Response:
        query = WebhookDeliveryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = selectors.webhook_delivery_list(organization=self.organization, endpoint_id=pk)
        if "status" in query.validated_data:
            deliveries = deliveries.filter(status=query.validated_data["status"])
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliveryOutputSerializer(page, many=True).data)


class WebhookDeliveryDetailAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        responses=WebhookDeliveryDetailSerializer,
        tags=TAGS,
        summary="Get a delivery with its payload and attempts",
        operation_id="webhooks_deliveries_retrieve",
    )
    def get(self, request: Request, pk: UUID, delivery_id: UUID) -> Response:
        delivery = selectors.webhook_delivery_get(
            organization=self.organization, endpoint_id=pk, delivery_id=delivery_id
        )
        return Response(WebhookDeliveryDetailSerializer(delivery).data)


class WebhookDeliveryRedeliverAPI(_AdminOnly, OrganizationAPIView):
    @extend_schema(
        request=None,
        responses={202: WebhookDeliveryOutputSerializer},
        tags=TAGS,
        summary="Send a delivery again (same message id and body)",
        operation_id="webhooks_deliveries_redeliver",
    )
    def post(self, request: Request, pk: UUID, delivery_id: UUID) -> Response:
        delivery = services.webhook_delivery_redeliver(
            organization=self.organization, actor=self.actor, endpoint_id=pk, delivery_id=delivery_id
        )
        delivery.refresh_from_db()
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
