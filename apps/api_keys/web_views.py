"""The /api-keys/ pages: owners and admins list, create, revoke and rotate keys and see their usage; one key's
page changes its name, scopes, expiry, limits and bot/collection restrictions and charts its usage."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
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
from common.core.web import form_add_domain_error

SPARK = "▁▂▃▄▅▆▇█"
USAGE_DAYS = 14


class KeyFieldsForm(forms.Form):
    """What creating and changing a key both ask."""

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


class APIKeyForm(KeyFieldsForm):
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


KEY_USAGE_DAYS = 30


class APIKeyEditForm(KeyFieldsForm):
    expires_at = forms.DateField(  # a day: the key works until its end (UTC)
        required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"}), help_text="Empty: never."
    )
    monthly_request_quota = model_integer_form_field(
        APIKey, "monthly_request_quota", min_value=1, required=False, label="Requests per month"
    )
    daily_token_quota = model_integer_form_field(
        APIKey, "daily_token_quota", min_value=1, required=False, label="Tokens per day"
    )
    monthly_token_quota = model_integer_form_field(
        APIKey, "monthly_token_quota", min_value=1, required=False, label="Tokens per month"
    )
    bot_ids = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these bots",
        help_text="None ticked: every bot.",
    )
    collection_ids = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these collections",
        help_text="None ticked: every collection.",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field, model in services.restriction_models().items():
            rows = model.objects.for_org(organization).order_by("name") if model is not None else []
            self.fields[field].choices = [(str(row.pk), row.name) for row in rows]  # type: ignore[attr-defined]

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        day = data["expires_at"]
        data["expires_at"] = datetime.combine(day, time.max, tzinfo=UTC).replace(microsecond=0) if day else None
        for field in ("bot_ids", "collection_ids"):
            data[field] = [UUID(value) for value in data[field]]
        return data


def _key_initial(key: APIKey) -> dict[str, Any]:
    initial: dict[str, Any] = {name: getattr(key, name) for name in ("name", "scopes", *services.LIMIT_FIELDS)}
    initial["expires_at"] = key.expires_at.date() if key.expires_at else None
    initial["bot_ids"] = [str(pk) for pk in key.bot_ids]
    initial["collection_ids"] = [str(pk) for pk in key.collection_ids]
    return initial


@require_http_methods(["GET", "POST"])
@tenant_required(Role.ADMIN)
def api_key_detail(request: HttpRequest, api_key_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    organization = actor.org
    key = selectors.api_key_get(organization=organization, api_key_id=api_key_id)
    form = APIKeyEditForm(request.POST or None, initial=_key_initial(key), organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.api_key_update(organization=organization, actor=actor, api_key_id=key.pk, **form.changes())
        except DomainError as error:
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['name']} saved.")
            return redirect("api-keys-detail", api_key_id=key.pk)
    end = timezone.now().date()
    start = end - timedelta(days=KEY_USAGE_DAYS - 1)
    found = {
        u.date: u
        for u in selectors.usage_per_key_day(organization=organization, start=start, end=end, api_key_id=key.pk)
    }
    usage: list[dict[str, Any]] = [
        {
            "date": day.isoformat(),
            "requests": found[day].requests if day in found else 0,
            "tokens": found[day].tokens if day in found else 0,
            "errors": found[day].errors if day in found else 0,
        }
        for day in (start + timedelta(days=i) for i in range(KEY_USAGE_DAYS))
    ]
    totals = {name: sum(row[name] for row in usage) for name in ("requests", "tokens", "errors")}
    return render(
        request,
        "api_keys/detail.html",
        {
            "key": key,
            "form": form,
            "usage": usage,
            "totals": totals,
            "usage_days": KEY_USAGE_DAYS,
            "now": timezone.now(),
        },
    )
