"""Small helpers over Django's HttpRequest shared by every app."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the server saw it. Behind a proxy, the ASGI server rewrites REMOTE_ADDR from
    the forwarded headers only for the proxy addresses it is told to trust (docs/deployment.md)."""
    return str(request.META.get("REMOTE_ADDR") or "") or None
