"""A deliberately unscoped page, to prove the web isolation checker catches one."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from apps.organizations.models import Invitation


def leaky_delete(request: HttpRequest, pk: str) -> HttpResponse:
    deleted, _ = Invitation.objects.unscoped().filter(pk=pk).delete()  # the bug: any organization's row
    if not deleted:
        raise Http404
    return redirect("/")


urlpatterns = [path("leaky/<uuid:pk>/delete/", leaky_delete)]
