"""Webhook routes, mounted under /api/v1/."""

from django.urls import path

from apps.webhooks import api

urlpatterns = [
    path("webhooks", api.WebhookEndpointListCreateAPI.as_view(), name="webhook-list"),
    path("webhooks/<uuid:pk>", api.WebhookEndpointDetailAPI.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:pk>/rotate-secret", api.WebhookEndpointRotateSecretAPI.as_view(), name="webhook-rotate"),
    path("webhooks/<uuid:pk>/test", api.WebhookEndpointTestAPI.as_view(), name="webhook-test"),
    path("webhooks/<uuid:pk>/deliveries", api.WebhookDeliveryListAPI.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>",
        api.WebhookDeliveryDetailAPI.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>/redeliver",
        api.WebhookDeliveryRedeliverAPI.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
