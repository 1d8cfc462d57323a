"""Root URL configuration.

Each app's `urls.py` is mounted under /api/v1/; an app's optional `web_urls.py` (server-rendered pages)
is mounted at the site root. The OpenAI-compatible API has its own prefix, /openai/v1/, where errors use
OpenAI's shape (docs/openai-compatible.md); the widget's door is /widget/v1/ and its script /widget.js
(docs/widget.md). Health probes and the OpenAPI schema live here.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.widget.views import widget_script
from common.core.health import healthz, readyz
from common.security.csp import csp_override

# Swagger UI and ReDoc add styles inline and ReDoc searches in a worker it builds from a blob; their scripts
# still come only from our static files (the split view serves Swagger UI's set-up as a script of its own).
API_REFERENCE_CSP = {"style-src": ["'self'", "'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}

APPS = [
    "auth",
    "organizations",
    "chatbot_provider",
    "documents",
    "chatbot",
    "api_keys",
    "chat",
    "widget",
    "webhooks",
    "analytics",
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        csp_override(API_REFERENCE_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("api/redoc/", csp_override(API_REFERENCE_CSP)(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
]

for _app in APPS:
    urlpatterns.append(path("api/v1/", include(f"apps.{_app}.urls")))
urlpatterns.append(path("openai/v1/", include("apps.openai_compat.urls")))
# The embeddable widget: its own door for other sites' pages (CORS only there), and its loader script.
urlpatterns.append(path("widget/v1/", include("apps.widget.widget_urls")))
urlpatterns.append(path("widget.js", widget_script, name="widget-script"))
for _app in APPS:
    if find_spec(f"apps.{_app}.web_urls") is not None:
        urlpatterns.append(path("", include(import_module(f"apps.{_app}.web_urls"))))

handler400 = "common.core.exceptions.json_400"
handler404 = "common.core.exceptions.json_404"
handler500 = "common.core.exceptions.json_500"
