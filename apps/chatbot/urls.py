"""URL routes of this app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.chatbot.api import BotViewSet, ChatView, ConversationViewSet, FeedbackView

router = SimpleRouter(trailing_slash=False)
router.register("bots", BotViewSet, basename="bot")
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = [
    path("bots/<uuid:pk>/chat", ChatView.as_view(), name="bot-chat"),
    path("messages/<uuid:pk>/feedback", FeedbackView.as_view(), name="message-feedback"),
    *router.urls,
]
