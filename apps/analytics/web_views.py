"""The dashboard (everyone's home page: the organization's real numbers) and the analytics page (admins): the
figures of apps.analytics.selectors over a date range, drawn as charts.

The figures travel in the page as JSON data blocks (`json_script`), which the Content-Security-Policy allows
because they are never run; static/js/analytics.js draws them with the vendored Chart.js. The tables under
the charts hold the same numbers for readers without JavaScript or a screen.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from apps.analytics import selectors
from apps.chatbot.selectors import bot_list
from apps.organizations import selectors as organization_selectors
from apps.organizations.models import Membership, Organization, Role
from apps.organizations.web import actor_of, tenant_required, user_page

RANGES = [(7, "7 days"), (30, "30 days"), (90, "90 days")]


class WindowForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    bot = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bot"].choices = [("", "All bots")] + [  # type: ignore[attr-defined]
            (str(bot.pk), bot.name) for bot in bot_list(organization=organization)
        ]


@tenant_required(Role.ADMIN)
def analytics_page(request: HttpRequest) -> HttpResponse:
    organization = actor_of(request).org
    form = WindowForm(request.GET or None, organization=organization)
    data = form.cleaned_data if form.is_valid() else {}
    days = request.GET.get("days", "")
    default_days = int(days) if days in {str(d) for d, _ in RANGES} else 30
    window = selectors.window_make(
        start=data.get("start"), end=data.get("end"), bot_id=data.get("bot") or None, default_days=default_days
    )
    figures = {name: read(organization=organization, window=window) for name, read in selectors.CHARTS.items()}
    return render(
        request,
        "analytics/index.html",
        {
            "form": form,
            "window": window,
            "ranges": RANGES,
            "summary": selectors.summary(organization=organization, window=window),
            "figures": figures,
            "dont_know": figures["dont-know"],
            "charts": {name: rows for name, rows in figures.items() if name not in ("bots", "dont-know")},
        },
    )


@user_page
def dashboard_view(request: HttpRequest) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect("/login/")
    if not Membership.objects.for_user(request.user).exists():
        return render(request, "organizations/no_organization.html")
    return _dashboard(request)


@tenant_required(Role.MEMBER)
def _dashboard(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context: dict[str, Any] = {
        "organization": actor.org,
        "role": actor.role,
        "member_count": organization_selectors.member_list(organization=actor.org).count(),
        "pending_invitations": organization_selectors.invitation_list_pending(organization=actor.org).count(),
        "numbers": selectors.dashboard(organization=actor.org),
    }
    return render(request, "organizations/dashboard.html", context)
