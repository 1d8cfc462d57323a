"""The agent side of the widget (members taking over widget conversations) and the bot's widget keys, under
/api/v1/. Handoffs are for people: API keys cannot use them. Which role may act as agent: docs/roles.md."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.chat.consumers import widget_conversation_group
from apps.chat.permissions import HANDOFF_AGENT_ROLE
from apps.chatbot.models import Chatbot, Conversation, Message
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView
from apps.widget import handoff, limits, selectors, serializers, services
from apps.widget.models import WidgetConversation
from common.core.errors import NotFound
from common.core.schema import error_responses

HANDOFF_TAGS = ["Handoffs"]
AGENT_ROLES = {"GET": HANDOFF_AGENT_ROLE, "POST": HANDOFF_AGENT_ROLE}


class HandoffAPIView(OrganizationAPIView):
    """Members act as agents (docs/roles.md); a conversation is named by its id."""

    model = WidgetConversation
    required_roles = AGENT_ROLES
    isolation_kwarg_models = {"conversation_id": Conversation}

    def handoff_detail(self, conversation_id: Any, *, after: int = 0) -> dict[str, Any]:
        conversation = (
            selectors.handoff_queryset(organization=self.organization).filter(conversation_id=conversation_id).first()
        )
        if conversation is None:
            raise NotFound("Conversation not found.")
        return {
            "handoff": selectors.handoff_summary(conversation),
            "messages": selectors.conversation_messages(conversation=conversation, after=after, agent_view=True),
        }


class HandoffListAPI(HandoffAPIView):
    @extend_schema(
        tags=HANDOFF_TAGS,
        summary="Widget conversations that asked for a person",
        parameters=[serializers.HandoffQuerySerializer],
        responses={200: serializers.HandoffSummarySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = serializers.HandoffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.handoff_queryset(organization=self.organization, state=query.validated_data.get("state"))
        return Response([selectors.handoff_summary(row) for row in rows[:200]])


class HandoffDetailAPI(HandoffAPIView):
    @extend_schema(
        tags=HANDOFF_TAGS,
        summary="A handed-over conversation with its transcript",
        description="Each bot answer carries `retrieval`: the passages it was written from, with their scores.",
        parameters=[serializers.HistoryQuerySerializer],
        responses={200: serializers.HandoffDetailSerializer},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        query = serializers.HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(self.handoff_detail(conversation_id, after=query.validated_data["after"]))


def _transition(summary: str, description: str) -> Any:
    return extend_schema(
        tags=HANDOFF_TAGS,
        summary=summary,
        description=description,
        request=None,
        responses={200: serializers.HandoffDetailSerializer, **error_responses(409)},
    )


class HandoffClaimAPI(HandoffAPIView):
    @_transition("Take over a waiting conversation", "waiting → with_agent; 409 in any other state.")
    def post(self, request: Request, conversation_id: str) -> Response:
        handoff.handoff_claim(actor=self.actor, conversation_id=conversation_id)
        return Response(self.handoff_detail(conversation_id))


class HandoffReleaseAPI(HandoffAPIView):
    @_transition("Hand the conversation back to the bot", "with_agent (its holder) or waiting → bot.")
    def post(self, request: Request, conversation_id: str) -> Response:
        handoff.handoff_release(actor=self.actor, conversation_id=conversation_id)
        return Response(self.handoff_detail(conversation_id))


class HandoffResolveAPI(HandoffAPIView):
    @_transition("Resolve the conversation", "with_agent (its holder) or waiting → resolved.")
    def post(self, request: Request, conversation_id: str) -> Response:
        handoff.handoff_resolve(actor=self.actor, conversation_id=conversation_id)
        return Response(self.handoff_detail(conversation_id))


class HandoffMessageAPI(HandoffAPIView):
    @extend_schema(
        tags=HANDOFF_TAGS,
        summary="Reply to the visitor",
        description="Only the member holding the conversation (409 before claiming, 403 for another member).",
        request=serializers.AgentReplyInputSerializer,
        responses={201: serializers.AgentReplyOutputSerializer, **error_responses(409)},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        data = serializers.AgentReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = handoff.handoff_reply(
            actor=self.actor,
            conversation_id=conversation_id,
            text=data.validated_data["text"],
            client_msg_id=data.validated_data.get("client_msg_id") or "",
        )
        message = Message.objects.for_org(self.organization).select_related("sender_user").get(pk=message.pk)
        bot = Chatbot.objects.for_org(self.organization).get(pk=message.conversation.bot_id)
        out = selectors.widget_message(message, bot=bot, agent_view=True)
        return Response({"message": out}, status=status.HTTP_201_CREATED)


class HandoffTypingAPI(HandoffAPIView):
    @extend_schema(
        tags=HANDOFF_TAGS,
        summary="Tell the visitor the member is typing",
        request=None,
        responses={204: None, **error_responses(409)},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        conversation = (
            WidgetConversation.objects.for_org(self.organization).filter(conversation_id=conversation_id).first()
        )
        if conversation is None:
            raise NotFound("Conversation not found.")
        if conversation.state == "with_agent" and conversation.agent_id == self.actor.user_id:
            layer = get_channel_layer()
            if layer is not None:
                async_to_sync(layer.group_send)(
                    widget_conversation_group(conversation.conversation_id), {"type": "widget.typing", "role": "agent"}
                )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -------------------------------------------------------------------------------------- the bot's keys

BOT_TAGS = ["Bots and chat"]


class BotWidgetAPIView(OrganizationAPIView):
    model = Chatbot
    resource_kwargs = {"pk": "bot"}
    required_roles = {"GET": Role.MEMBER, "POST": Role.ADMIN}

    def bot(self, pk: str) -> Chatbot:
        bot = Chatbot.objects.for_org(self.organization).filter(pk=pk).first()
        if bot is None:
            raise NotFound("Bot not found.")
        return bot


class PublishableKeyRotateAPI(BotWidgetAPIView):
    @extend_schema(
        tags=BOT_TAGS,
        summary="Rotate the widget's publishable key",
        description="The old key stops opening sessions at once and every visitor token made under it ends; "
        "update the embed snippet.",
        request=None,
        responses={200: serializers.PublishableKeySerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        bot = services.publishable_key_rotate(actor=self.actor, bot=self.bot(pk))
        return Response({"publishable_key": bot.publishable_key})


class IdentitySecretRotateAPI(BotWidgetAPIView):
    @extend_schema(
        tags=BOT_TAGS,
        summary="Make a new identity secret",
        description="Shown once. Identity tokens signed with the previous secret are refused from now on.",
        request=None,
        responses={200: serializers.IdentitySecretSerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        return Response({"identity_secret": services.identity_secret_rotate(actor=self.actor, bot=self.bot(pk))})


class WidgetUsageAPI(BotWidgetAPIView):
    @extend_schema(
        tags=BOT_TAGS,
        summary="The widget's use of the bot's daily budgets today",
        responses={200: serializers.WidgetUsageSerializer},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(limits.bot_budget_usage(bot=self.bot(pk)))
