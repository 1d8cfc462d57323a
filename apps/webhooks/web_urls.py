"""Web pages of the webhooks app, mounted at the site root."""

from django.urls import path

from apps.webhooks import web_views

urlpatterns = [
    path("webhooks/", web_views.webhook_list_page, name="webhooks-page"),
    path("webhooks/<uuid:webhook_endpoint_id>/", web_views.webhook_detail_page, name="webhooks-detail"),
    path("webhooks/<uuid:webhook_endpoint_id>/rotate", web_views.webhook_rotate, name="webhooks-rotate"),
    path("webhooks/<uuid:webhook_endpoint_id>/test", web_views.webhook_test, name="webhooks-test"),
    path("webhooks/<uuid:webhook_endpoint_id>/delete", web_views.webhook_delete, name="webhooks-delete"),
    path(
        "webhooks/<uuid:webhook_endpoint_id>/deliveries/<uuid:webhook_delivery_id>/redeliver",
        web_views.webhook_redeliver,
        name="webhooks-redeliver",
    ),
]
