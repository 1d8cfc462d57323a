from django.apps import AppConfig


class AuthConfig(AppConfig):
    name = "apps.auth"
    label = "docent_auth"
    verbose_name = "Authentication"
    default_auto_field = "django.db.models.BigAutoField"
