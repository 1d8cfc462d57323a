"""Reads for the widget and for agents: messages as the widget shows them, conversations, the handoff inbox."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet

from apps.chatbot.models import Chatbot, Message, SenderKind
from apps.documents.models import Document
from apps.organizations.models import Organization
from apps.widget.models import Visitor, WidgetConversation

ROLES = {SenderKind.VISITOR: "visitor", SenderKind.BOT: "bot", SenderKind.USER: "agent"}
HISTORY_LIMIT = 200


def person_name(user: Any) -> str:
    """What a visitor sees of a member who answers: the first name they gave, never their email."""
    full_name = (getattr(user, "full_name", "") or "").strip()
    return full_name.split()[0] if full_name else "Support"


def document_urls(organization_id: Any, citations: Iterable[dict[str, Any]]) -> dict[str, str]:
    ids = {str(c.get("document_id")) for c in citations if c.get("document_id")}
    if not ids:
        return {}
    rows = Document.objects.for_org(organization_id).filter(pk__in=ids).exclude(source_url="")
    return {str(pk): url for pk, url in rows.values_list("pk", "source_url")}


def widget_citations(
    organization_id: Any, citations: Sequence[dict[str, Any]], urls: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    urls = document_urls(organization_id, citations) if urls is None else urls
    return [
        {
            "n": citation.get("marker"),
            "document_title": citation.get("document_title", ""),
            "page": citation.get("page"),
            "snippet": citation.get("snippet", ""),
            "url": urls.get(str(citation.get("document_id"))),
        }
        for citation in citations
    ]


def widget_message(
    message: Message, *, bot: Chatbot, urls: dict[str, str] | None = None, agent_view: bool = False
) -> dict[str, Any]:
    """One message as the widget (or, with agent_view, an agent) sees it."""
    role = ROLES.get(SenderKind(message.sender_kind), "system")
    feedback = getattr(message, "feedback", None) if role == "bot" else None
    if role == "bot":
        sender_name = bot.name
    elif role == "agent":
        sender_name = person_name(message.sender_user)
    else:
        sender_name = ""
    data: dict[str, Any] = {
        "id": str(message.pk),
        "seq": message.seq,
        "role": role,
        "text": message.content,
        "status": message.status,
        "created_at": message.created_at.isoformat(),
        "citations": widget_citations(message.organization_id, message.citations, urls),
        "feedback": feedback.rating if feedback is not None else None,
        "sender_name": sender_name,
        "offer_handoff": bool(bot.handoff_enabled and message.status == Message.Status.DONT_KNOW),
    }
    if agent_view:
        data["retrieval"] = passages_used(message) if role == "bot" else []
        data["feedback_comment"] = feedback.comment if feedback is not None else ""
        if role == "agent" and message.sender_user is not None:
            data["sender_name"] = message.sender_user.full_name or message.sender_user.email
    return data


def passages_used(message: Message) -> list[dict[str, Any]]:
    """The passages a bot answer was written from (those that went into its prompt), in rank order, with their
    scores and whether the answer cited them: read from the evidence the answer keeps (ADR 0110)."""
    passages = (message.evidence or {}).get("passages", [])
    used = sorted((p for p in passages if p.get("marker") is not None), key=lambda p: p["marker"])
    keys = ("document_id", "document_title", "page", "chunk_id", "snippet", "score", "vector_score", "text_score")
    return [{"rank": p["marker"], **{k: p.get(k) for k in keys}, "cited": bool(p.get("cited"))} for p in used]


def conversation_messages(
    *, conversation: WidgetConversation, after: int = 0, limit: int = HISTORY_LIMIT, agent_view: bool = False
) -> list[dict[str, Any]]:
    rows = list(
        Message.objects.for_org(conversation.organization_id)
        .filter(conversation_id=conversation.conversation_id, seq__gt=after, deleted_at__isnull=True)
        .select_related("feedback", "sender_user")
        .order_by("seq")[:limit]
    )
    urls = document_urls(conversation.organization_id, [c for row in rows for c in row.citations])
    return [widget_message(row, bot=conversation.bot, urls=urls, agent_view=agent_view) for row in rows]


def conversation_summary(conversation: WidgetConversation | None) -> dict[str, Any] | None:
    if conversation is None:
        return None
    return {
        "id": str(conversation.conversation_id),
        "state": conversation.state,
        "last_seq": conversation.conversation.last_seq,
        "agent_name": person_name(conversation.agent) if conversation.agent_id else None,
    }


def visitor_summary(visitor: Visitor) -> dict[str, Any]:
    return {"id": visitor.public_id, "verified": visitor.verified, "name": visitor.name, "email": visitor.email}


def handoff_queryset(*, organization: Organization, state: str | None = None) -> QuerySet[WidgetConversation]:
    """Widget conversations that asked for a person (waiting first, longest wait first)."""
    query = (
        WidgetConversation.objects.for_org(organization)
        .exclude(requested_at__isnull=True)
        .select_related("conversation", "visitor", "agent", "bot")
    )
    if state:
        query = query.filter(state=state)
    return query.order_by("requested_at")


def handoff_summary(conversation: WidgetConversation) -> dict[str, Any]:
    agent = conversation.agent
    return {
        "conversation_id": str(conversation.conversation_id),
        "bot": {"id": str(conversation.bot_id), "name": conversation.bot.name},
        "visitor": visitor_summary(conversation.visitor),
        "state": conversation.state,
        "agent": {"id": str(agent.pk), "name": agent.full_name or agent.email} if agent is not None else None,
        "title": conversation.conversation.title,
        "requested_at": conversation.requested_at.isoformat() if conversation.requested_at else None,
        "state_changed_at": conversation.state_changed_at.isoformat() if conversation.state_changed_at else None,
        "last_seq": conversation.conversation.last_seq,
        "last_message_at": (
            conversation.conversation.last_message_at.isoformat() if conversation.conversation.last_message_at else None
        ),
    }
