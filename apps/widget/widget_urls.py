"""The widget door, mounted at /widget/v1/ (config/urls.py)."""

from django.urls import path

from apps.widget import widget_api

urlpatterns = [
    path("session", widget_api.SessionAPI.as_view(), name="widget-session"),
    path("conversation", widget_api.ConversationAPI.as_view(), name="widget-conversation"),
    path("messages", widget_api.SendAPI.as_view(), name="widget-send"),
    path("messages/<uuid:message_id>/feedback", widget_api.FeedbackAPI.as_view(), name="widget-feedback"),
    path("handoff", widget_api.HandoffRequestAPI.as_view(), name="widget-handoff"),
]
