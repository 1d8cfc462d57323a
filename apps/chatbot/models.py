"""Chatbots, their conversations, messages (with citations and timings) and feedback on answers."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.utils import timezone

from common.core.models import OrgScopedModel
from common.security.encryption import EncryptedTextField

MESSAGE_SEARCH_CONFIG = "english"  # full-text search over messages (the inbox), like documents
DEFAULT_DONT_KNOW = "I could not find that in the documents I have. Could you rephrase, or ask about another topic?"


class Tone(models.TextChoices):
    PROFESSIONAL = "professional", "Professional"
    FRIENDLY = "friendly", "Friendly"
    CONCISE = "concise", "Concise"


def new_publishable_key() -> str:
    return f"pk_{secrets.token_urlsafe(24)}"


class Chatbot(OrgScopedModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    tone = models.CharField(max_length=20, choices=Tone.choices, default=Tone.PROFESSIONAL)
    # null provider = the built-in offline answerer
    provider = models.ForeignKey(
        "chatbot_provider.ChatbotProvider", null=True, blank=True, on_delete=models.PROTECT, related_name="bots"
    )
    model = models.CharField(max_length=120, blank=True, default="")  # blank = the provider's default
    fallback_provider = models.ForeignKey(
        "chatbot_provider.ChatbotProvider",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallback_for_bots",
    )
    collections = models.ManyToManyField("documents.Collection", blank=True, related_name="bots")
    temperature = models.FloatField(default=0.2)
    max_answer_tokens = models.PositiveIntegerField(default=700)
    top_k = models.PositiveSmallIntegerField(default=6)
    # Lowest cosine similarity (vector_score) between question and passage to answer from; see docs/search.md.
    # None: the floor calibrated for each collection's embedder (settings ANSWER_MIN_RELEVANCE_*, ADR 0017).
    min_relevance = models.FloatField(null=True, blank=True, default=None)
    dont_know_message = models.TextField(default=DEFAULT_DONT_KNOW)
    welcome_message = models.TextField(blank=True, default="")
    suggested_questions = models.JSONField(default=list, blank=True)
    publishable_key = models.CharField(max_length=64, unique=True, default=new_publishable_key)
    allowed_origins = models.JSONField(default=list, blank=True)
    # The embeddable widget (apps.widget, docs/widget.md): looks, who may embed it, identity, limits, handoff.
    widget_theme = models.JSONField(default=dict, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    allow_any_origin = models.BooleanField(default=False)  # the owner's explicit "any site may embed this bot"
    identity_secret = EncryptedTextField(blank=True, default="")  # signs visitors' identity tokens; shown once
    require_identity = models.BooleanField(default=False)
    widget_daily_message_budget = models.PositiveIntegerField(null=True, blank=True, default=2000)  # null: none
    widget_daily_token_budget = models.PositiveIntegerField(null=True, blank=True, default=2_000_000)
    handoff_enabled = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_bot_name_per_org")]

    def __str__(self) -> str:
        return self.name


class SenderKind(models.TextChoices):
    """Who wrote a message (or takes part in a conversation)."""

    USER = "user", "Member"
    BOT = "bot", "Bot"
    VISITOR = "visitor", "Widget visitor"
    API_KEY = "api_key", "API client"
    SYSTEM = "system", "System"


class Conversation(OrgScopedModel):
    """One conversation, whatever the door: a bot conversation (API, test chat, widget) or a member room.

    Messages are numbered 1, 2, 3 ... per conversation (`Message.seq`, from `last_seq`): see
    docs/adr/0023-one-conversation-model.md.
    """

    class Kind(models.TextChoices):
        BOT = "bot", "With a bot"
        DIRECT = "direct", "Direct (one-to-one room)"
        GROUP = "group", "Group room"

    class Source(models.TextChoices):
        API = "api", "API"
        WEB = "web", "Web UI"
        WIDGET = "widget", "Widget"
        ROOM = "room", "Room"
        OPENAI = "openai", "OpenAI-compatible API"

    class HandoffState(models.TextChoices):
        """Who holds a widget conversation (apps.widget keeps the state machine, see docs/widget.md)."""

        BOT = "bot", "The bot answers"
        WAITING = "waiting", "Waiting for a person"
        WITH_AGENT = "with_agent", "A person answers"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BOT)
    # The bot a bot conversation is with; rooms may have none (bots in rooms are participants).
    bot = models.ForeignKey(Chatbot, null=True, blank=True, on_delete=models.CASCADE, related_name="conversations")
    # The member who opened it (bot conversations), else null.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visitor_id = models.CharField(max_length=64, blank=True, default="")  # the widget visitor who opened it
    title = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    # Both kept by the database when a message is inserted (the counter row of Message.seq).
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    # Rooms: counts the edits and deletions of its messages (each takes the next value, under the row's lock),
    # so a reconnecting client learns what changed while it was away (docs/realtime.md, resume).
    last_revision = models.PositiveIntegerField(default=0, editable=False)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Blank while nobody ever asked for a person; else the handoff state of the widget conversation, which
    # apps.widget.handoff writes with every transition (the inbox filters and badges on it without reading
    # the widget's tables, which sit above this app).
    handoff_state = models.CharField(max_length=12, choices=HandoffState.choices, blank=True, default="")
    # A direct room's pair of participants ("user:<id>|user:<id>", sorted): one direct room per pair and
    # organization, enforced by the database. Blank for every other conversation.
    direct_key = models.CharField(max_length=100, blank=True, default="", editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "bot", "-created_at"]),
            # The inbox (most recent activity first) and conversations per day (analytics).
            models.Index(
                models.F("organization"), models.F("last_message_at").desc(nulls_last=True), name="chatbot_conv_inbox"
            ),
            models.Index(fields=["organization", "created_at"], name="chatbot_conv_org_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="bot") | models.Q(bot__isnull=False), name="chatbot_conversation_has_bot"
            ),
            models.UniqueConstraint(
                fields=["organization", "direct_key"],
                condition=~models.Q(direct_key=""),
                name="uniq_direct_conversation_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="direct") | models.Q(direct_key=""), name="chatbot_direct_key_only_direct"
            ),
        ]


class Participant(OrgScopedModel):
    """Who takes part in a conversation: a member, a bot or a widget visitor, and how far they have read."""

    class Kind(models.TextChoices):
        USER = "user", "Member"
        BOT = "bot", "Bot"
        VISITOR = "visitor", "Widget visitor"

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    bot = models.ForeignKey(Chatbot, null=True, blank=True, on_delete=models.CASCADE, related_name="participations")
    visitor_id = models.CharField(max_length=64, blank=True, default="")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_seq = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "user"], name="chatbot_participant_org_user")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="user", user__isnull=False, bot__isnull=True, visitor_id="")
                    | models.Q(kind="bot", bot__isnull=False, user__isnull=True, visitor_id="")
                    | (models.Q(kind="visitor", user__isnull=True, bot__isnull=True) & ~models.Q(visitor_id=""))
                ),
                name="chatbot_participant_one_identity",
            ),
            models.UniqueConstraint(
                fields=["conversation", "user"], condition=models.Q(user__isnull=False), name="uniq_participant_user"
            ),
            models.UniqueConstraint(
                fields=["conversation", "bot"], condition=models.Q(bot__isnull=False), name="uniq_participant_bot"
            ),
            models.UniqueConstraint(
                fields=["conversation", "visitor_id"],
                condition=~models.Q(visitor_id=""),
                name="uniq_participant_visitor",
            ),
        ]


class Message(OrgScopedModel):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete", "Complete"
        DONT_KNOW = "dont_know", "Did not know"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # 1, 2, 3 ... without gaps in each conversation, assigned by the database on insert (a trigger takes the
    # next value of the conversation's last_seq under its row lock); whatever is passed here is replaced.
    seq = models.PositiveIntegerField(db_default=0, editable=False)
    role = models.CharField(max_length=10, choices=Role.choices)  # the role in a prompt
    sender_kind = models.CharField(max_length=10, choices=SenderKind.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_bot = models.ForeignKey(Chatbot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sender_visitor_id = models.CharField(max_length=64, blank=True, default="")
    sender_api_key_id = models.UUIDField(null=True, blank=True)  # no foreign key: keys are another app's rows
    content = models.TextField(blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COMPLETE)
    citations = models.JSONField(default=list, blank=True)
    provider_name = models.CharField(max_length=120, blank=True, default="")
    model = models.CharField(max_length=120, blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    retrieval_ms = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    total_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # Why an answer said what it did (the playground and the transcript show it): the retrieval plan and
    # timings, every retrieved passage with its scores (ids, not text), the settings used and each provider
    # tried. See apps.chatbot.services.answer.evidence_of and docs/adr/0110-answer-evidence.md.
    evidence = models.JSONField(default=dict, blank=True)
    # Rooms: the message answered (same conversation), who is mentioned ([{"kind": "user"|"bot", "id"}]),
    # the sender's idempotency key, and edits and deletions (a deleted message keeps its seq, not its content).
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mentions = models.JSONField(default=list, blank=True)
    client_msg_id = models.CharField(max_length=64, blank=True, default="")
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=0)  # the conversation's last_revision of its latest change

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "created_at"]),
            models.Index(
                fields=["conversation", "revision"], condition=models.Q(revision__gt=0), name="chatbot_msg_revision"
            ),
            # Analytics read an organization's messages by day; the included columns let the per-day figures
            # come from the index alone.
            models.Index(
                fields=["organization", "created_at"],
                include=["role", "status", "ttft_ms", "total_ms", "prompt_tokens", "completion_tokens"],
                name="chatbot_msg_org_day",
            ),
            # Full-text search over messages (the inbox); the query repeats this expression
            # (apps.chatbot.selectors.message_search_vector).
            GinIndex(SearchVector("content", config=MESSAGE_SEARCH_CONFIG), name="chatbot_msg_content_fts"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="uniq_message_seq_per_conversation"),
            models.UniqueConstraint(
                fields=["conversation", "sender_user", "client_msg_id"],
                condition=~models.Q(client_msg_id=""),
                name="uniq_message_client_msg_id",
            ),
            models.UniqueConstraint(
                fields=["conversation", "sender_visitor_id", "client_msg_id"],
                condition=~models.Q(client_msg_id="") & ~models.Q(sender_visitor_id=""),
                name="uniq_message_visitor_client_msg_id",
            ),
            models.CheckConstraint(
                condition=models.Q(sender_kind__in=SenderKind.values), name="chatbot_message_sender_kind_known"
            ),
        ]


class Feedback(OrgScopedModel):
    class Rating(models.TextChoices):
        UP = "up", "Thumbs up"
        DOWN = "down", "Thumbs down"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating = models.CharField(max_length=4, choices=Rating.choices)
    comment = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="chatbot_feedback_org_day")]
