"""Provider pages: list, add/change (the key is write-only and shown masked), test connection, delete."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.chatbot_provider import services
from apps.chatbot_provider.models import ChatbotProvider, ProviderKind
from apps.organizations.models import Role
from apps.organizations.tenancy import TenantContext, resolve_tenant
from common.core.errors import DomainError, NotFound
from common.core.names import validate_no_control_characters
from common.security.encryption import mask


def tenant_with_role(request: HttpRequest, role: Role) -> TenantContext:
    try:
        tenant = resolve_tenant(request)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    if tenant.role is None or not tenant.role.at_least(role):
        raise PermissionDenied(f"This page needs the {role.label.lower()} role.")
    return tenant


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


def _provider(tenant: TenantContext, pk: Any) -> ChatbotProvider:
    provider = ChatbotProvider.objects.for_org(tenant.organization).filter(pk=pk).first()
    if provider is None:
        raise Http404("Provider not found.")
    return provider


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    tenant = tenant_with_role(request, Role.ADMIN)
    providers = ChatbotProvider.objects.for_org(tenant.organization).order_by("name")
    rows = [(p, mask(p.api_key) if p.api_key else "") for p in providers]
    return render(request, "chatbot_provider/list.html", {"rows": rows, "organization": tenant.organization})


@login_required
def provider_edit(request: HttpRequest, pk: Any = None) -> HttpResponse:
    tenant = tenant_with_role(request, Role.ADMIN)
    provider = _provider(tenant, pk) if pk else None
    initial = {}
    if provider is not None:
        initial = {f: getattr(provider, f) for f in services.PROVIDER_FIELDS if f != "api_key"}
    form = ProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if provider is None:
                provider = services.provider_create(
                    organization=tenant.organization, actor=request.user, **form.cleaned_data
                )
            else:
                provider = services.provider_update(provider=provider, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            for field, problems in error.details.items():
                form.add_error(field if field in form.fields else None, problems)
            if not error.details:
                form.add_error(None, error.message)
        else:
            messages.success(request, f"Provider {provider.name} saved.")
            return redirect("provider-list")
    key_hint = mask(provider.api_key) if provider and provider.api_key else ""
    return render(request, "chatbot_provider/form.html", {"form": form, "provider": provider, "key_hint": key_hint})


@login_required
@require_POST
def provider_test(request: HttpRequest, pk: Any) -> HttpResponse:
    tenant = tenant_with_role(request, Role.ADMIN)
    result = services.provider_test_connection(provider=_provider(tenant, pk))
    if request.headers.get("HX-Request"):
        return render(request, "chatbot_provider/_test_result.html", {"result": result})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("provider-list")


@login_required
@require_POST
def provider_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    tenant = tenant_with_role(request, Role.ADMIN)
    provider = _provider(tenant, pk)
    try:
        services.provider_delete(provider=provider, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Provider {provider.name} deleted.")
    return redirect("provider-list")
