"""The widget's actions on the bot page (admins): a new identity secret, shown once, and a new publishable key.
The widget settings themselves are bot fields, edited with the rest of the bot (apps.chatbot's bot page)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.chatbot import selectors as chatbot_selectors
from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required
from apps.widget import services


@require_POST
@tenant_required(Role.ADMIN)
def identity_secret_rotate_page(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = chatbot_selectors.bot_get(organization=actor.org, bot_id=pk)
    secret = services.identity_secret_rotate(actor=actor, bot=bot)
    response = render(request, "widget/identity_secret.html", {"bot": bot, "secret": secret})
    response["Cache-Control"] = "no-store"  # the page holds a secret
    return response


@require_POST
@tenant_required(Role.ADMIN)
def publishable_key_rotate_page(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = chatbot_selectors.bot_get(organization=actor.org, bot_id=pk)
    services.publishable_key_rotate(actor=actor, bot=bot)
    messages.success(request, "New publishable key: update the embed snippet on your website.")
    return redirect("bot-edit", pk=bot.pk)
