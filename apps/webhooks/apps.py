"""The webhooks app: organizations' endpoints, fed by domain events, sent signed deliveries with retries."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included), so services can enqueue them by name.
        from apps.webhooks import subscribers, tasks  # noqa: F401

        subscribers.connect()
