"""WebSocket routes, mounted by config/asgi.py."""

from django.urls import path, re_path

from apps.chat.consumers import NotFoundConsumer, RealtimeConsumer

websocket_urlpatterns = [
    path("ws/", RealtimeConsumer.as_asgi()),
    re_path(r"^.*$", NotFoundConsumer.as_asgi()),
]
