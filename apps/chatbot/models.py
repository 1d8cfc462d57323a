"""Chatbots, their conversations, messages (with citations and timings) and feedback on answers."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from common.core.models import OrgScopedModel

DEFAULT_MIN_RELEVANCE = 0.2  # measured: make bench-relevance (docs/benchmarks.md)
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
    min_relevance = models.FloatField(default=DEFAULT_MIN_RELEVANCE)
    dont_know_message = models.TextField(default=DEFAULT_DONT_KNOW)
    welcome_message = models.TextField(blank=True, default="")
    suggested_questions = models.JSONField(default=list, blank=True)
    publishable_key = models.CharField(max_length=64, unique=True, default=new_publishable_key)
    allowed_origins = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_bot_name_per_org")]

    def __str__(self) -> str:
        return self.name


class Conversation(OrgScopedModel):
    class Source(models.TextChoices):
        API = "api", "API"
        WEB = "web", "Web UI"
        WIDGET = "widget", "Widget"

    bot = models.ForeignKey(Chatbot, on_delete=models.CASCADE, related_name="conversations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "bot", "-created_at"])]


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
    role = models.CharField(max_length=10, choices=Role.choices)
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

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"])]


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
