"""Pages of the chat app, mounted at the site root."""

from django.urls import path

from apps.chat import web_views

urlpatterns = [
    path("rooms/", web_views.rooms_page, name="rooms-page"),
    path("handoffs/", web_views.handoffs_page, name="handoffs-page"),
]
