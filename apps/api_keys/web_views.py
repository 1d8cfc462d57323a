"""The /api-keys/ page: owners and admins list, create, revoke and rotate keys and see their usage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.api_keys import selectors, services
from apps.api_keys.models import APIKey, Scope
from apps.organizations.models import Organization, Role
from apps.organizations.web import actor_of, tenant_required
from common.core.errors import DomainError
from common.core.fields import model_integer_form_field
from common.core.names import validate_no_control_characters

SPARK = "▁▂▃▄▅▆▇█"
USAGE_DAYS = 14


class APIKeyForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[validate_no_control_characters])
    scopes = forms.MultipleChoiceField(
        choices=[(value, f"{value}: {label}") for value, label in Scope.choices],
        widget=forms.CheckboxSelectMultiple,
    )
    rate_limit_per_minute = model_integer_form_field(
        APIKey, "rate_limit_per_minute", min_value=1, required=False, label="Requests per minute"
    )
    daily_request_quota = model_integer_form_field(
        APIKey, "daily_request_quota", min_value=1, required=False, label="Requests per day"
    )
    expires_in_days = forms.IntegerField(min_value=1, max_value=3650, required=False, label="Expires in (days)")


def _sparkline(values: list[int]) -> str:
    peak = max(values) if values else 0
    if peak == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, v * (len(SPARK) - 1) // peak)] for v in values)


def _limits_text(key: APIKey) -> str:
    parts = [
        f"{key.rate_limit_per_minute}/min" if key.rate_limit_per_minute else "",
        f"{key.daily_request_quota}/day" if key.daily_request_quota else "",
        f"{key.monthly_request_quota}/month" if key.monthly_request_quota else "",
        f"{key.daily_token_quota} tokens/day" if key.daily_token_quota else "",
        f"{key.monthly_token_quota} tokens/month" if key.monthly_token_quota else "",
    ]
    return " · ".join(p for p in parts if p) or "defaults"


def _page(request: HttpRequest, organization: Organization, **context: Any) -> HttpResponse:
    end = timezone.now().date()
    start = end - timedelta(days=USAGE_DAYS - 1)
    per_key: dict[UUID, list[int]] = {}
    totals: dict[UUID, dict[str, int]] = {}
    days = [start + timedelta(days=i) for i in range(USAGE_DAYS)]
    for usage in selectors.usage_per_key_day(organization=organization, start=start, end=end):
        assert usage.api_key_id is not None
        series = per_key.setdefault(usage.api_key_id, [0] * USAGE_DAYS)
        series[(usage.date - start).days] = usage.requests
        total = totals.setdefault(usage.api_key_id, {"requests": 0, "tokens": 0, "errors": 0})
        total["requests"] += usage.requests
        total["tokens"] += usage.tokens
        total["errors"] += usage.errors
    keys = [
        {
            "key": key,
            "sparkline": _sparkline(per_key.get(key.pk, [0] * USAGE_DAYS)),
            "usage": totals.get(key.pk, {"requests": 0, "tokens": 0, "errors": 0}),
            "limits": _limits_text(key),
        }
        for key in selectors.api_key_list(organization=organization).order_by("-created_at")
    ]
    context.setdefault("form", APIKeyForm())
    response = render(
        request,
        "api_keys/list.html",
        {
            "organization": organization,
            "keys": keys,
            "usage_days": USAGE_DAYS,
            "first_day": days[0],
            "now": timezone.now(),
            **context,
        },
    )
    if "issued" in context:
        response["Cache-Control"] = "no-store"  # the page holds a secret
    return response


@require_http_methods(["GET", "POST"])
@tenant_required(Role.ADMIN)
def api_key_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    organization = actor.org
    if request.method != "POST":
        return _page(request, organization)
    form = APIKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, organization, form=form)
    data = form.cleaned_data
    expires_in = data.pop("expires_in_days")
    limits = {k: v for k in ("rate_limit_per_minute", "daily_request_quota") if (v := data.pop(k)) is not None}
    try:
        issued = services.api_key_create(
            organization=organization,
            actor=actor,
            expires_at=timezone.now() + timedelta(days=expires_in) if expires_in else None,
            **data,
            **limits,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _page(request, organization, form=form)
    return _page(request, organization, issued=issued)


@require_POST
@tenant_required(Role.ADMIN)
def api_key_revoke(request: HttpRequest, api_key_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    organization = actor.org
    try:
        api_key = services.api_key_revoke(organization=organization, actor=actor, api_key_id=api_key_id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Revoked {api_key.name}. It stopped working at once.")
    return redirect("api-keys-page")


@require_POST
@tenant_required(Role.ADMIN)
def api_key_rotate(request: HttpRequest, api_key_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    organization = actor.org
    try:
        issued = services.api_key_rotate(organization=organization, actor=actor, api_key_id=api_key_id)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("api-keys-page")
    return _page(request, organization, issued=issued, rotated=True)
