"""The /webhooks/ pages: owners and admins add endpoints, see their deliveries, redeliver and send tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required
from apps.webhooks import selectors, services
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services import IssuedSecret
from common.core.errors import DomainError
from common.core.names import validate_no_control_characters
from common.events import EventType

RECENT_DELIVERIES = 50


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL", help_text="An http(s) URL on a public address.")
    description = forms.CharField(max_length=200, required=False, validators=[validate_no_control_characters])
    event_types = forms.MultipleChoiceField(
        choices=[(value, f"{value}: {label}") for value, label in EventType.choices],
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(required=False)


def _form_errors(form: forms.Form, error: DomainError) -> None:
    """Show a service's error on the field it names (else on the form as a whole), with its full reason."""
    field = next((name for name in error.details if name in form.fields), None)
    form.add_error(field, error.message)


def _list_page(request: HttpRequest, **context: Any) -> HttpResponse:
    organization = actor_of(request).org
    context.setdefault("form", EndpointForm())
    pending = selectors.webhook_pending_counts(organization=organization)
    rows = [
        (endpoint, pending.get(endpoint.pk, 0))
        for endpoint in selectors.webhook_endpoint_list(organization=organization).order_by("-created_at")
    ]
    response = render(request, "webhooks/list.html", {"organization": organization, "rows": rows, **context})
    if "issued" in context:
        response["Cache-Control"] = "no-store"  # the page holds a secret
    return response


def _detail_page(request: HttpRequest, endpoint: WebhookEndpoint, **context: Any) -> HttpResponse:
    organization = actor_of(request).org
    context.setdefault(
        "form",
        EndpointEditForm(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "event_types": endpoint.event_types,
                "enabled": endpoint.enabled,
            }
        ),
    )
    deliveries = selectors.webhook_delivery_list(organization=organization, endpoint_id=endpoint.pk).order_by(
        "-sequence"
    )[:RECENT_DELIVERIES]
    response = render(
        request,
        "webhooks/detail.html",
        {"organization": organization, "endpoint": endpoint, "deliveries": deliveries, **context},
    )
    if "issued" in context:
        response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@tenant_required(Role.ADMIN)
def webhook_list_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.method != "POST":
        return _list_page(request)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form=form)
    try:
        issued = services.webhook_endpoint_create(organization=actor.org, actor=actor, **form.cleaned_data)
    except DomainError as error:
        _form_errors(form, error)
        return _list_page(request, form=form)
    return _list_page(request, issued=issued)


@require_http_methods(["GET", "POST"])
@tenant_required(Role.ADMIN)
def webhook_detail_page(request: HttpRequest, webhook_endpoint_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    endpoint = selectors.webhook_endpoint_get(organization=actor.org, endpoint_id=webhook_endpoint_id)
    if request.method != "POST":
        return _detail_page(request, endpoint)
    form = EndpointEditForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, endpoint, form=form)
    try:
        services.webhook_endpoint_update(
            organization=actor.org, actor=actor, endpoint_id=endpoint.pk, **form.cleaned_data
        )
    except DomainError as error:
        _form_errors(form, error)
        return _detail_page(request, endpoint, form=form)
    messages.success(request, "Saved.")
    return redirect("webhooks-detail", webhook_endpoint_id=endpoint.pk)


@require_POST
@tenant_required(Role.ADMIN)
def webhook_rotate(request: HttpRequest, webhook_endpoint_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    issued: IssuedSecret = services.webhook_endpoint_rotate_secret(
        organization=actor.org, actor=actor, endpoint_id=webhook_endpoint_id
    )
    return _detail_page(request, issued.endpoint, issued=issued)


@require_POST
@tenant_required(Role.ADMIN)
def webhook_test(request: HttpRequest, webhook_endpoint_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    try:
        services.webhook_endpoint_send_test(organization=actor.org, actor=actor, endpoint_id=webhook_endpoint_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, "A webhook.test event is on its way; reload to see how it went.")
    return redirect("webhooks-detail", webhook_endpoint_id=webhook_endpoint_id)


@require_POST
@tenant_required(Role.ADMIN)
def webhook_delete(request: HttpRequest, webhook_endpoint_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    services.webhook_endpoint_delete(organization=actor.org, actor=actor, endpoint_id=webhook_endpoint_id)
    messages.success(request, "Webhook endpoint deleted.")
    return redirect("webhooks-page")


@require_POST
@tenant_required(Role.ADMIN)
def webhook_redeliver(request: HttpRequest, webhook_endpoint_id: UUID, webhook_delivery_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    try:
        delivery = services.webhook_delivery_redeliver(
            organization=actor.org, actor=actor, endpoint_id=webhook_endpoint_id, delivery_id=webhook_delivery_id
        )
    except DomainError as error:
        if error.status_code == 404:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, f"Delivery #{delivery.sequence} ({delivery.event_type}) is on its way again.")
    return redirect("webhooks-detail", webhook_endpoint_id=webhook_endpoint_id)
