from django.apps import AppConfig


class ChatbotProviderConfig(AppConfig):
    name = "apps.chatbot_provider"
    label = "chatbot_provider"
    verbose_name = "Chatbot providers"
    default_auto_field = "django.db.models.BigAutoField"
