"""Provider pages: list, add/change (the key is write-only and shown masked), test connection, delete."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.chatbot_provider import selectors, services
from apps.chatbot_provider.models import ChatbotProvider, ProviderKind
from apps.organizations.actors import Actor
from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required
from common.core.errors import DomainError
from common.core.names import validate_no_control_characters
from common.core.web import form_add_domain_error
from common.security.encryption import mask


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=120, validators=[validate_no_control_characters])
    kind = forms.ChoiceField(choices=ProviderKind.choices)
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="API key",
        help_text="Write-only. Leave empty to keep the stored key.",
    )
    base_url = forms.URLField(
        required=False, assume_scheme="https", label="Base URL", help_text="For OpenAI-compatible servers."
    )
    default_chat_model = forms.CharField(required=False, max_length=120)
    default_embedding_model = forms.CharField(required=False, max_length=120)
    timeout_seconds = forms.FloatField(min_value=0.5, max_value=600, initial=30)
    max_retries = forms.IntegerField(min_value=0, max_value=5, initial=2)


def _provider(actor: Actor, pk: Any) -> ChatbotProvider:
    return selectors.provider_get(organization=actor.org, provider_id=pk)  # NotFound → 404 at the boundary


@tenant_required(Role.ADMIN)
def provider_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    providers = selectors.provider_list(organization=actor.org)
    rows = [(p, mask(p.api_key) if p.api_key else "") for p in providers]
    return render(request, "chatbot_provider/list.html", {"rows": rows, "organization": actor.org})


@tenant_required(Role.ADMIN)
def provider_edit(request: HttpRequest, pk: Any = None) -> HttpResponse:
    actor = actor_of(request)
    provider = _provider(actor, pk) if pk else None
    initial = {}
    if provider is not None:
        initial = {f: getattr(provider, f) for f in services.PROVIDER_FIELDS if f != "api_key"}
    form = ProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if provider is None:
                provider = services.provider_create(organization=actor.org, actor=actor, **form.cleaned_data)
            else:
                provider = services.provider_update(provider=provider, actor=actor, **form.cleaned_data)
        except DomainError as error:
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"Provider {provider.name} saved.")
            return redirect("provider-list")
    key_hint = mask(provider.api_key) if provider and provider.api_key else ""
    return render(request, "chatbot_provider/form.html", {"form": form, "provider": provider, "key_hint": key_hint})


@require_POST
@tenant_required(Role.ADMIN)
def provider_test(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    result = services.provider_test_connection(provider=_provider(actor, pk))
    if request.headers.get("HX-Request"):
        return render(request, "chatbot_provider/_test_result.html", {"result": result})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("provider-list")


@require_POST
@tenant_required(Role.ADMIN)
def provider_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    provider = _provider(actor, pk)
    try:
        services.provider_delete(provider=provider, actor=actor)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Provider {provider.name} deleted.")
    return redirect("provider-list")
