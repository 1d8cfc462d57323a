"""The api_keys app: scoped, budgeted, revocable API keys and their usage."""

from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apps.api_keys"
    label = "api_keys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from apps.api_keys import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from apps.api_keys.metering import ActorTokenMeter
        from apps.api_keys.models import APIKey
        from apps.api_keys.signals import forget_deleted_key
        from apps.organizations.metering import token_meter_register

        post_delete.connect(forget_deleted_key, sender=APIKey, dispatch_uid="api_keys.forget_deleted_key")
        token_meter_register(ActorTokenMeter())
