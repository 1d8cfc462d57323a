"""ASGI entry point: HTTP through Django, WebSocket through Channels (apps.chat.routing).

WebSockets pass the allowed-origins check (ALLOWED_HOSTS), then common.jwt_middleware reads the ticket or JWT
from the handshake and apps.chat.auth decides who connected; apps.chat.routing sends `/ws/` to the realtime
consumer and closes any other path with code 4404. `/ws/widget/` (the widget's visitors, on other sites' pages)
is routed first to apps.widget, which checks the visitor token and the origin against the bot's own list.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from apps.chat.auth import authenticate  # noqa: E402
from apps.chat.routing import websocket_urlpatterns  # noqa: E402
from apps.widget.routing import widget_websocket_urlpatterns  # noqa: E402
from common.jwt_middleware import WebSocketAuthMiddleware  # noqa: E402

members = AllowedHostsOriginValidator(
    WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns), authenticate=authenticate)
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([*widget_websocket_urlpatterns, re_path(r"", members)]),
    }
)
