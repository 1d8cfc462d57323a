"""The rooms page (the member's rooms over the realtime WebSocket, static/js/rooms.js) and the handoff inbox
(widget conversations waiting for a person, static/js/handoffs.js)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.chat import selectors
from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required


@tenant_required(Role.MEMBER)
def rooms_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return render(
        request,
        "chat/rooms.html",
        {
            "organization": actor.org,
            "people": selectors.organization_people(actor=actor),
            "bots": selectors.organization_bots(actor=actor),
        },
    )


@tenant_required(Role.MEMBER)
def handoffs_page(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/handoffs.html", {"organization": actor_of(request).org})
