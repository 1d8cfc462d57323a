"""Web pages of the api_keys app, mounted at the site root."""

from django.urls import path

from apps.api_keys import web_views

urlpatterns = [
    path("api-keys/", web_views.api_key_page, name="api-keys-page"),
    path("api-keys/<uuid:api_key_id>/", web_views.api_key_detail, name="api-keys-detail"),
    path("api-keys/<uuid:api_key_id>/revoke", web_views.api_key_revoke, name="api-keys-revoke"),
    path("api-keys/<uuid:api_key_id>/rotate", web_views.api_key_rotate, name="api-keys-rotate"),
]
