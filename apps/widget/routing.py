"""The visitor's WebSocket route, mounted by config/asgi.py ahead of the members' stack (the widget checks its
own origins: other sites' pages are its callers)."""

from django.urls import path

from apps.widget.consumers import WidgetConsumer

widget_websocket_urlpatterns = [path("ws/widget/", WidgetConsumer.as_asgi())]
