"""Bot pages, mounted at the site root."""

from django.urls import path, re_path

from apps.chatbot import web_views

urlpatterns = [
    path("bots/", web_views.bot_list, name="bot-list"),
    path("bots/new/", web_views.bot_edit, name="bot-new"),
    path("bots/<uuid:pk>/", web_views.bot_edit, name="bot-edit"),
    path("bots/<uuid:pk>/widget/", web_views.bot_widget, name="bot-widget"),
    path("bots/<uuid:pk>/delete/", web_views.bot_delete, name="bot-delete"),
    path("bots/<uuid:pk>/chat/", web_views.bot_chat, name="bot-chat-page"),
    path("bots/<uuid:pk>/chat/ask/", web_views.bot_chat_ask, name="bot-chat-ask"),
    path("bots/<uuid:pk>/chat/messages/<uuid:message_id>/", web_views.bot_chat_turn, name="bot-chat-turn"),
    path(
        "bots/<uuid:pk>/chat/messages/<uuid:message_id>/feedback/",
        web_views.bot_chat_feedback,
        name="bot-chat-feedback",
    ),
    path("conversations/", web_views.conversation_list, name="conversation-list"),
    re_path(
        r"^conversations/export\.(?P<fmt>csv|json)$",
        web_views.conversation_list_export,
        name="conversation-list-export",
    ),
    path("conversations/<uuid:pk>/", web_views.conversation_detail, name="conversation-detail"),
    re_path(
        r"^conversations/(?P<pk>[0-9a-f-]{36})/export\.(?P<fmt>csv|json)$",
        web_views.conversation_export_page,
        name="conversation-export",
    ),
]
