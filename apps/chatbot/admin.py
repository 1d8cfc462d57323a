"""Admin for bots and conversations (read-mostly)."""

from django.contrib import admin

from apps.chatbot.models import Chatbot, Conversation, Feedback, Message, Participant
from common.core.admin import CrossOrganizationAdmin


@admin.register(Chatbot)
class ChatbotAdmin(CrossOrganizationAdmin):
    list_display = ("name", "organization", "provider", "model", "tone", "updated_at")
    search_fields = ("name",)
    list_filter = ("tone",)


@admin.register(Conversation)
class ConversationAdmin(CrossOrganizationAdmin):
    list_display = ("title", "kind", "bot", "organization", "source", "last_seq", "last_message_at")
    list_filter = ("kind", "source")


@admin.register(Participant)
class ParticipantAdmin(CrossOrganizationAdmin):
    list_display = ("conversation", "kind", "user", "bot", "visitor_id", "role", "last_read_seq", "joined_at")
    list_filter = ("kind", "role")


@admin.register(Message)
class MessageAdmin(CrossOrganizationAdmin):
    list_display = (
        "conversation",
        "seq",
        "sender_kind",
        "role",
        "status",
        "model",
        "ttft_ms",
        "total_ms",
        "created_at",
    )
    list_filter = ("sender_kind", "role", "status")


@admin.register(Feedback)
class FeedbackAdmin(CrossOrganizationAdmin):
    list_display = ("message", "rating", "created_at")
