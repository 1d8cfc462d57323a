"""Bot pages: list, create/edit (tone, provider, collections, thresholds), and a streaming test chat."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.chatbot import selectors
from apps.chatbot.models import DEFAULT_DONT_KNOW, DEFAULT_MIN_RELEVANCE, Chatbot, Tone
from apps.chatbot.services import bots as bot_services
from apps.chatbot_provider.models import ChatbotProvider
from apps.organizations.models import Organization, Role
from apps.organizations.web import actor_of, tenant_required
from common.core.errors import DomainError
from common.core.names import validate_no_control_characters
from common.core.web import form_add_domain_error


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class BotForm(forms.Form):
    name = forms.CharField(max_length=120, validators=[validate_no_control_characters])
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tone = forms.ChoiceField(choices=Tone.choices)
    system_prompt = forms.CharField(
        required=False, widget=forms.Textarea, help_text="Extra instructions; they cannot override the safety rules."
    )
    provider = forms.ChoiceField(required=False, help_text="Empty: the built-in offline answerer.")
    model = forms.CharField(required=False, max_length=120, help_text="Empty: the provider's default chat model.")
    fallback_provider = forms.ChoiceField(required=False)
    collections = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="The documents the bot answers from."
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.2, help_text="0 to 2; lower is more literal.")
    max_answer_tokens = forms.IntegerField(min_value=16, max_value=8000, initial=700)
    top_k = forms.IntegerField(
        min_value=1,
        max_value=30,
        initial=6,
        label="Passages per answer",
        help_text="How many passages (top k) the answer may draw on.",
    )
    min_relevance = forms.FloatField(
        min_value=0,
        max_value=1,
        initial=DEFAULT_MIN_RELEVANCE,
        label="Minimum relevance",
        help_text="0 to 1; passages below it are ignored.",
    )
    dont_know_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        initial=DEFAULT_DONT_KNOW,
        label="Answer when nothing is found",
        help_text="Said when the documents hold no answer.",
    )
    welcome_message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    suggested_questions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One per line."
    )
    allowed_origins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Widget origins, one per line."
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from apps.documents.models import Collection

        providers = [("", "—")] + [
            (str(p.pk), p.name) for p in ChatbotProvider.objects.for_org(organization).order_by("name")
        ]
        self.fields["provider"].choices = providers  # type: ignore[attr-defined]
        self.fields["fallback_provider"].choices = providers  # type: ignore[attr-defined]
        self.fields["collections"].choices = [  # type: ignore[attr-defined]
            (str(c.pk), c.name) for c in Collection.objects.for_org(organization).order_by("name")
        ]
        self.organization = organization

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("provider", "fallback_provider"):
            data[name] = (
                ChatbotProvider.objects.for_org(self.organization).filter(pk=data[name]).first() if data[name] else None
            )
        data["suggested_questions"] = _lines(data["suggested_questions"])
        data["allowed_origins"] = _lines(data["allowed_origins"])
        return data


def _bot(organization: Organization, pk: Any) -> Chatbot:
    return selectors.bot_get(organization=organization, bot_id=pk)  # NotFound → 404 at the boundary


@tenant_required(Role.MEMBER)
def bot_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    bots = selectors.bot_list(organization=actor.org)
    can_edit = actor.role is not None and actor.role.at_least(Role.ADMIN)
    return render(request, "chatbot/list.html", {"bots": bots, "can_edit": can_edit})


@tenant_required(Role.ADMIN)
def bot_edit(request: HttpRequest, pk: Any = None) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk) if pk else None
    initial: dict[str, Any] = {}
    if bot is not None:
        initial = {name: getattr(bot, name) for name in bot_services.BOT_FIELDS}
        initial["provider"] = str(bot.provider_id or "")
        initial["fallback_provider"] = str(bot.fallback_provider_id or "")
        initial["suggested_questions"] = "\n".join(bot.suggested_questions)
        initial["allowed_origins"] = "\n".join(bot.allowed_origins)
        initial["collections"] = [str(pk) for pk in bot.collections.values_list("id", flat=True)]
    form = BotForm(request.POST or None, initial=initial, organization=actor.org)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if bot is None:
                bot = bot_services.bot_create(organization=actor.org, actor=actor, **fields)
            else:
                bot = bot_services.bot_update(bot=bot, actor=actor, **fields)
        except DomainError as error:
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"Bot {bot.name} saved.")
            return redirect("bot-list")
    return render(request, "chatbot/form.html", {"form": form, "bot": bot})


@require_POST
@tenant_required(Role.ADMIN)
def bot_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk)
    bot_services.bot_delete(bot=bot, actor=actor)
    messages.success(request, f"Bot {bot.name} deleted.")
    return redirect("bot-list")


@tenant_required(Role.MEMBER)
def bot_chat(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk)
    return render(request, "chatbot/chat.html", {"bot": bot, "organization": actor.org})
