"""API-key management and usage routes, mounted under /api/v1/."""

from django.urls import path

from apps.api_keys import api

urlpatterns = [
    path("api-keys", api.APIKeyListCreateAPI.as_view(), name="api-key-list"),
    path("api-keys/usage", api.APIKeysUsageAPI.as_view(), name="api-key-usage-all"),
    path("api-keys/limits", api.OrganizationAPILimitsAPI.as_view(), name="api-key-limits"),
    path("api-keys/<uuid:api_key_id>", api.APIKeyDetailAPI.as_view(), name="api-key-detail"),
    path("api-keys/<uuid:api_key_id>/revoke", api.APIKeyRevokeAPI.as_view(), name="api-key-revoke"),
    path("api-keys/<uuid:api_key_id>/rotate", api.APIKeyRotateAPI.as_view(), name="api-key-rotate"),
    path("api-keys/<uuid:api_key_id>/usage", api.APIKeyUsageAPI.as_view(), name="api-key-usage"),
]
