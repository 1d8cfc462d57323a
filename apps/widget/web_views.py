"""The bot page's widget key actions (admins): a new identity secret, shown once, and a new publishable key.
The bot page links here with POST forms (templates/chatbot/); these views only act and show the result."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.chatbot.models import Chatbot
from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required
from apps.widget import services
from common.core.errors import NotFound


def _bot(request: HttpRequest, pk: UUID) -> Chatbot:
    bot = Chatbot.objects.for_org(actor_of(request).org).filter(pk=pk).first()
    if bot is None:
        raise NotFound("Bot not found.")
    return bot


@require_POST
@tenant_required(Role.ADMIN)
def identity_secret_rotate(request: HttpRequest, pk: UUID) -> HttpResponse:
    bot = _bot(request, pk)
    secret = services.identity_secret_rotate(actor=actor_of(request), bot=bot)
    response = render(request, "widget/identity_secret.html", {"bot": bot, "secret": secret})
    response["Cache-Control"] = "no-store"  # the page holds a secret
    return response


@require_POST
@tenant_required(Role.ADMIN)
def publishable_key_rotate(request: HttpRequest, pk: UUID) -> HttpResponse:
    bot = services.publishable_key_rotate(actor=actor_of(request), bot=_bot(request, pk))
    messages.success(
        request, "New publishable key: update the embed snippet on your site; the old key stopped working."
    )
    return redirect("bot-edit", pk=bot.pk)
