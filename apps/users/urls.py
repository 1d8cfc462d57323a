"""Routes of the users app, mounted under /api/v1/."""

from django.urls import path

from apps.users.api import MeAPI

urlpatterns = [path("me", MeAPI.as_view(), name="me")]
