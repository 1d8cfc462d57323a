"""URL routes of the chat app, mounted under /api/v1/."""

from django.urls import path

from apps.chat import api

urlpatterns = [
    path("realtime/tickets", api.RealtimeTicketAPI.as_view(), name="realtime-ticket"),
]
