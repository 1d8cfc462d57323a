"""Bot pages, mounted at the site root."""

from django.urls import path

from apps.chatbot import web_views

urlpatterns = [
    path("bots/", web_views.bot_list, name="bot-list"),
    path("bots/new/", web_views.bot_edit, name="bot-new"),
    path("bots/<uuid:pk>/", web_views.bot_edit, name="bot-edit"),
    path("bots/<uuid:pk>/delete/", web_views.bot_delete, name="bot-delete"),
    path("bots/<uuid:pk>/chat/", web_views.bot_chat, name="bot-chat-page"),
]
