from django.apps import AppConfig


class ChatbotConfig(AppConfig):
    name = "apps.chatbot"
    label = "chatbot"
    verbose_name = "Chatbots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.chatbot import bot_cache

        bot_cache.connect()
