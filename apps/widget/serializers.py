"""Request and response shapes of the widget door and the agent API (what the OpenAPI schema documents)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.chatbot.models import Feedback
from apps.widget.models import HandoffState


class WidgetSessionInputSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(max_length=64, help_text="The bot's publishable key (pk_...).")
    resume = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="The resume secret a previous session returned."
    )
    identity = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        help_text="A JWT (HS256) the site's backend signed with the bot's identity secret (docs/widget.md).",
    )


class WidgetVisitorSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    verified = serializers.BooleanField()
    resume = serializers.CharField(help_text="Keep it (localStorage) and send it to the next session.")


class WidgetBotSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    avatar_url = serializers.URLField(allow_null=True, help_text="Null: no avatar.")
    welcome_message = serializers.CharField(allow_blank=True)
    suggested_questions = serializers.ListField(child=serializers.CharField())
    theme = serializers.DictField()
    handoff_enabled = serializers.BooleanField()


class WidgetConversationSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=HandoffState.choices)
    last_seq = serializers.IntegerField()
    agent_name = serializers.CharField(allow_null=True)


class WidgetSessionOutputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="The visitor token: `Authorization: Bearer <token>` on every call.")
    expires_in = serializers.IntegerField(help_text="Seconds; open a new session (with `resume`) before then.")
    visitor = WidgetVisitorSerializer()
    bot = WidgetBotSerializer()
    conversation = WidgetConversationSerializer(allow_null=True)


class WidgetCitationSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField(allow_null=True)
    document_title = serializers.CharField(allow_blank=True)
    page = serializers.IntegerField(allow_null=True)
    snippet = serializers.CharField(allow_blank=True)
    url = serializers.URLField(allow_null=True, help_text="The cited document's source URL, if it has one.")


WIDGET_MESSAGE_ROLES = [("visitor", "Visitor"), ("bot", "Bot"), ("agent", "Agent"), ("system", "System")]


class WidgetMessageSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    seq = serializers.IntegerField()
    role = serializers.ChoiceField(choices=WIDGET_MESSAGE_ROLES)
    text = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    citations = WidgetCitationSerializer(many=True)
    feedback = serializers.ChoiceField(choices=Feedback.Rating.choices, allow_null=True)
    sender_name = serializers.CharField(allow_blank=True)
    offer_handoff = serializers.BooleanField(help_text="A 'don't know' answer of a bot that hands over to people.")


class HistoryOutputSerializer(serializers.Serializer[Any]):
    conversation = WidgetConversationSerializer(allow_null=True)
    messages = WidgetMessageSerializer(many=True)


class HistoryQuerySerializer(serializers.Serializer[Any]):
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)


class SendInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=100_000, help_text="At most WIDGET_MESSAGE_MAX_CHARS."
    )
    client_msg_id = serializers.CharField(required=False, allow_blank=True, max_length=64)


class HeldOutputSerializer(serializers.Serializer[Any]):
    message = WidgetMessageSerializer()
    state = serializers.ChoiceField(choices=HandoffState.choices)
    duplicate = serializers.BooleanField()


class SendTokenEventSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(allow_blank=True)


class SendCitationsEventSerializer(serializers.Serializer[Any]):
    citations = WidgetCitationSerializer(many=True)


class SendDoneEventSerializer(serializers.Serializer[Any]):
    message = WidgetMessageSerializer()
    offer_handoff = serializers.BooleanField()
    duplicate = serializers.BooleanField()


class SendErrorEventSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()


class WidgetFeedbackInputSerializer(serializers.Serializer[Any]):
    rating = serializers.ChoiceField(choices=Feedback.Rating.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class WidgetFeedbackOutputSerializer(serializers.Serializer[Any]):
    message_id = serializers.UUIDField()
    rating = serializers.ChoiceField(choices=Feedback.Rating.choices)
    comment = serializers.CharField(allow_blank=True)


class HandoffOutputSerializer(serializers.Serializer[Any]):
    conversation = WidgetConversationSerializer()


# ------------------------------------------------------------------------------------------ agents


class HandoffQuerySerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=HandoffState.choices, required=False)


class AgentSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class HandoffBotSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class HandoffVisitorSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    verified = serializers.BooleanField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class HandoffSummarySerializer(serializers.Serializer[Any]):
    conversation_id = serializers.UUIDField()
    bot = HandoffBotSerializer()
    visitor = HandoffVisitorSerializer()
    state = serializers.ChoiceField(choices=HandoffState.choices)
    agent = AgentSerializer(allow_null=True)
    title = serializers.CharField(allow_blank=True)
    requested_at = serializers.DateTimeField(allow_null=True)
    state_changed_at = serializers.DateTimeField(allow_null=True)
    last_seq = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)


class RetrievedPassageSerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    document_id = serializers.UUIDField()
    document_title = serializers.CharField(allow_blank=True)
    page = serializers.IntegerField(allow_null=True)
    chunk_id = serializers.UUIDField()
    snippet = serializers.CharField(allow_blank=True)
    score = serializers.FloatField(allow_null=True)
    vector_score = serializers.FloatField(allow_null=True)
    text_score = serializers.FloatField(allow_null=True)


class AgentMessageSerializer(WidgetMessageSerializer):
    retrieval = RetrievedPassageSerializer(many=True, help_text="A bot answer's passages and their scores.")
    feedback_comment = serializers.CharField(allow_blank=True)


class HandoffDetailSerializer(serializers.Serializer[Any]):
    handoff = HandoffSummarySerializer()
    messages = AgentMessageSerializer(many=True)


class AgentReplyInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=100_000)
    client_msg_id = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Sending the same id again stores nothing new."
    )


class AgentReplyOutputSerializer(serializers.Serializer[Any]):
    message = AgentMessageSerializer()


class PublishableKeySerializer(serializers.Serializer[Any]):
    publishable_key = serializers.CharField()


class IdentitySecretSerializer(serializers.Serializer[Any]):
    identity_secret = serializers.CharField(help_text="Shown this once; Docent keeps it encrypted.")


class WidgetUsageSerializer(serializers.Serializer[Any]):
    messages = serializers.IntegerField(help_text="Bot answers in the widget today (UTC).")
    tokens = serializers.IntegerField()
    message_budget = serializers.IntegerField(allow_null=True)
    token_budget = serializers.IntegerField(allow_null=True)
