"""A page that forgets the web boundary, for the test that must catch it."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def leaky_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("every organization's data")


urlpatterns = [path("leaky/", leaky_page)]
