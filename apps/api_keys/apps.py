from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apps.api_keys"
    label = "api_keys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"
