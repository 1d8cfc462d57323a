from django.apps import AppConfig


class OpenAICompatConfig(AppConfig):
    name = "apps.openai_compat"
    label = "openai_compat"
    verbose_name = "OpenAI-compatible API"
