"""ASGI entry point: HTTP through Django, WebSocket through Channels (apps.chat.routing).

HTTP goes through common.core.asgi's handler: Django's synchronous middleware chain and a sync view in one thread
hop per request, on request threads that are used again (ADR 0116).

WebSockets pass the allowed-origins check (ALLOWED_HOSTS), then common.jwt_middleware reads the ticket or JWT
from the handshake and apps.chat.auth decides who connected; apps.chat.routing sends `/ws/` to the realtime
consumer and closes any other path with code 4404. `/ws/widget/` (the widget's visitors, on other sites' pages)
is routed first to apps.widget, which checks the visitor token and the origin against the bot's own list.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from common.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from apps.chat.auth import authenticate  # noqa: E402
from apps.chat.routing import websocket_urlpatterns  # noqa: E402
from apps.widget.routing import widget_websocket_urlpatterns  # noqa: E402
from common.jwt_middleware import WebSocketAuthMiddleware  # noqa: E402

# The young generation is collected every this many net allocations rather than CPython's 700 (ADR 0074).
GC_YOUNG_THRESHOLD = 20_000


def settle_garbage_collector(young_threshold: int = GC_YOUNG_THRESHOLD) -> None:
    """What start-up built (Django, the apps, the URL conf: some 235,000 objects) lives as long as the process:
    freeze it, so that a full collection no longer walks it (130 ms or more of a stalled event loop on the
    reference machine, every few hundred fan-outs). And collect the young generation every `young_threshold` net
    allocations: the tasks and closures of a fan-out to 200 sockets are then gone before a collection sees them,
    instead of being promoted towards the next full collection (ADR 0074)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)


members = AllowedHostsOriginValidator(
    WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns), authenticate=authenticate)
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([*widget_websocket_urlpatterns, re_path(r"", members)]),
    }
)

settle_garbage_collector()
