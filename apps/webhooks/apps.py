"""The webhooks app: organizations' endpoints, fed by domain events, sent signed deliveries with retries."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included), so services can enqueue them by name.
        from django.db.models.signals import post_delete, post_save

        from apps.webhooks import interest, subscribers, tasks  # noqa: F401
        from apps.webhooks.models import WebhookEndpoint

        subscribers.connect()
        post_save.connect(interest.endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-interest-save")
        post_delete.connect(interest.endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-interest-delete")
