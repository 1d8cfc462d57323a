"""A deliberately unscoped page, to prove the web isolation checker catches one."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone

from apps.organizations.models import Invitation, Membership


def leaky_delete(request: HttpRequest, pk: str) -> HttpResponse:
    deleted, _ = Invitation.objects.unscoped().filter(pk=pk).delete()  # the bug: any organization's row
    if not deleted:
        raise Http404
    return redirect("/")


def leaky_revoke(request: HttpRequest, pk: str) -> HttpResponse:
    Invitation.objects.unscoped().filter(pk=pk).update(revoked_at=timezone.now())  # the bug
    messages.error(request, "Something went wrong.")  # even an error message does not hide the change
    return redirect("/")


def scoped_revoke(request: HttpRequest, pk: str) -> HttpResponse:
    """Done right: the lookup is scoped, the miss becomes an error message and a redirect."""
    organization = Membership.objects.unscoped().filter(user=request.user).first().organization  # type: ignore[union-attr,misc]
    if not Invitation.objects.for_org(organization).filter(pk=pk).update(revoked_at=timezone.now()):
        messages.error(request, "Invitation not found.")
    return redirect("/")


urlpatterns = [
    path("leaky/<uuid:pk>/delete/", leaky_delete),
    path("leaky/<uuid:pk>/revoke/", leaky_revoke),
    path("scoped/<uuid:pk>/revoke/", scoped_revoke),
]
