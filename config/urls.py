"""Root URL configuration.

Each app's `urls.py` is mounted under /api/v1/; an app's optional `web_urls.py` (server-rendered pages)
is mounted at the site root. Health probes and the OpenAPI schema live here.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from common.core.health import healthz, readyz

APPS = ["auth", "organizations", "chatbot_provider", "documents", "chatbot", "api_keys"]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

for _app in APPS:
    urlpatterns.append(path("api/v1/", include(f"apps.{_app}.urls")))
for _app in APPS:
    if find_spec(f"apps.{_app}.web_urls") is not None:
        urlpatterns.append(path("", include(import_module(f"apps.{_app}.web_urls"))))

handler404 = "common.core.exceptions.json_404"
handler500 = "common.core.exceptions.json_500"
