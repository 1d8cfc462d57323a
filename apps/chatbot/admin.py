"""Admin for bots and conversations (read-mostly)."""

from django.contrib import admin

from apps.chatbot.models import Chatbot, Conversation, Feedback, Message
from common.core.admin import CrossOrganizationAdmin


@admin.register(Chatbot)
class ChatbotAdmin(CrossOrganizationAdmin):
    list_display = ("name", "organization", "provider", "model", "tone", "updated_at")
    search_fields = ("name",)
    list_filter = ("tone",)


@admin.register(Conversation)
class ConversationAdmin(CrossOrganizationAdmin):
    list_display = ("title", "bot", "organization", "source", "last_message_at")
    list_filter = ("source",)


@admin.register(Message)
class MessageAdmin(CrossOrganizationAdmin):
    list_display = ("conversation", "role", "status", "model", "ttft_ms", "total_ms", "created_at")
    list_filter = ("role", "status")


@admin.register(Feedback)
class FeedbackAdmin(CrossOrganizationAdmin):
    list_display = ("message", "rating", "created_at")
