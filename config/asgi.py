"""ASGI entry point: HTTP through Django, WebSocket through Channels (apps.chat.routing when present)."""

from __future__ import annotations

import os
from importlib.util import find_spec

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

websocket_urlpatterns: list = []
if find_spec("apps.chat") is not None and find_spec("apps.chat.routing") is not None:
    from apps.chat import routing  # type: ignore[attr-defined]

    websocket_urlpatterns = routing.websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
