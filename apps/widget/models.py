"""Widget visitors and the handoff state of widget conversations.

A `Visitor` is one person on a customer's site, per bot: anonymous (kept by a resume secret the widget stores
in the browser) or verified (named by the customer's signed identity token, so the same person on another
device is the same visitor). A `WidgetConversation` is the widget's view of one bot conversation: whose it
is and who holds it (the bot, nobody yet, or a member acting as agent). See docs/widget.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from apps.chatbot.models import Conversation
from common.core.models import OrgScopedManager, OrgScopedModel


class Visitor(OrgScopedModel):
    bot = models.ForeignKey("chatbot.Chatbot", on_delete=models.CASCADE, related_name="+")
    # The visitor's id in conversations and messages (Conversation.visitor_id, Message.sender_visitor_id).
    public_id = models.CharField(max_length=64, unique=True)
    resume_hash = models.CharField(max_length=64, unique=True)  # HMAC of the resume secret (common.security.tokens)
    # A verified visitor: the `sub` of the customer's identity token, with the name and email it claimed.
    external_id = models.CharField(max_length=200, blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "external_id"], condition=~models.Q(external_id=""), name="uniq_verified_visitor"
            )
        ]

    @property
    def verified(self) -> bool:
        return bool(self.external_id)


HandoffState = Conversation.HandoffState  # one list of states; the conversation mirrors the latest one


class WidgetConversation(OrgScopedModel):
    conversation = models.OneToOneField("chatbot.Conversation", on_delete=models.CASCADE, related_name="+")
    bot = models.ForeignKey("chatbot.Chatbot", on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    state = models.CharField(max_length=12, choices=HandoffState.choices, default=HandoffState.BOT)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "state", "-requested_at"], name="widget_conv_inbox"),
            models.Index(fields=["visitor", "-created_at"], name="widget_conv_visitor"),
        ]
