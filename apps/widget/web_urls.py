"""The widget's actions on the bot page, mounted at the site root."""

from django.urls import path

from apps.widget import web_views

urlpatterns = [
    path(
        "bots/<uuid:pk>/widget/identity-secret/",
        web_views.identity_secret_rotate_page,
        name="bot-widget-identity-secret-page",
    ),
    path(
        "bots/<uuid:pk>/widget/publishable-key/",
        web_views.publishable_key_rotate_page,
        name="bot-widget-publishable-key-page",
    ),
]
