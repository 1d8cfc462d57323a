"""The widget app: visitor sessions, the widget's REST and WebSocket door, limits, and human handoff."""

from django.apps import AppConfig


class WidgetConfig(AppConfig):
    name = "apps.widget"
    label = "widget"
    verbose_name = "Embeddable widget"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.widget import subscribers

        subscribers.connect()
