"""The chat app: realtime conversations over one WebSocket per client."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "apps.chat"
    label = "chat"
    verbose_name = "Realtime chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.chat import subscribers

        subscribers.connect()
