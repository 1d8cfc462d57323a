"""The api_keys app: scoped, budgeted, revocable API keys and their usage."""

from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apps.api_keys"
    label = "api_keys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.api_keys import schema  # noqa: F401  (registers the OpenAPI security scheme)
