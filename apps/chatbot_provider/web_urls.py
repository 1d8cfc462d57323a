"""Provider pages, mounted at the site root."""

from django.urls import path

from apps.chatbot_provider import web_views

urlpatterns = [
    path("providers/", web_views.provider_list, name="provider-list"),
    path("providers/new/", web_views.provider_edit, name="provider-new"),
    path("providers/<uuid:pk>/", web_views.provider_edit, name="provider-edit"),
    path("providers/<uuid:pk>/test/", web_views.provider_test, name="provider-test"),
    path("providers/<uuid:pk>/delete/", web_views.provider_delete, name="provider-delete"),
]
