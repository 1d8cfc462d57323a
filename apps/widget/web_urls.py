"""Web actions of the widget app, mounted at the site root."""

from django.urls import path

from apps.widget import web_views

urlpatterns = [
    path(
        "bots/<uuid:pk>/widget/identity-secret/",
        web_views.identity_secret_rotate,
        name="bot-widget-identity-secret",
    ),
    path(
        "bots/<uuid:pk>/widget/publishable-key/",
        web_views.publishable_key_rotate,
        name="bot-widget-publishable-key",
    ),
]
