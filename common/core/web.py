"""The one way a server-rendered page shows a service's typed error: on its form, or as an error page."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from common.core.errors import DomainError


def form_add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the form: field details next to their fields, the rest on top."""
    placed = False
    for field, messages in (exc.details or {}).items():
        if field in form.fields and isinstance(messages, list):
            for message in messages:
                form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def domain_error_page(request: HttpRequest, exc: DomainError, *, back_url: str = "/") -> HttpResponse:
    """A page naming what went wrong, with the error's own status (404, 403, 409, 413, ...)."""
    return render(request, "error.html", {"message": exc.message, "back_url": back_url}, status=exc.status_code)
