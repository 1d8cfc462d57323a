"""Bot pages: list, create/edit (tone, provider, collections, thresholds), a streaming test chat, and the
conversations inbox (every conversation of the organization: filters, full-text search, transcript, export)."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.chatbot import selectors
from apps.chatbot.models import DEFAULT_DONT_KNOW, Chatbot, Conversation, Feedback, Tone
from apps.chatbot.services import bots as bot_services
from apps.chatbot.services.conversations import conversation_export, feedback_give
from apps.chatbot.services.playground import OFFLINE, TrySettings, playground_turn_open
from apps.chatbot.streaming import sse_response
from apps.chatbot.widget_theme import widget_theme_clean
from apps.chatbot_provider.models import ChatbotProvider
from apps.organizations.models import Organization, Role
from apps.organizations.web import actor_of, tenant_required
from common.core.errors import DomainError
from common.core.exceptions import error_body
from common.core.names import validate_no_control_characters
from common.core.web import form_add_domain_error


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class BotForm(forms.Form):
    name = forms.CharField(max_length=120, validators=[validate_no_control_characters])
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tone = forms.ChoiceField(choices=Tone.choices)
    system_prompt = forms.CharField(
        required=False, widget=forms.Textarea, help_text="Extra instructions; they cannot override the safety rules."
    )
    provider = forms.ChoiceField(required=False, help_text="Empty: the built-in offline answerer.")
    model = forms.CharField(required=False, max_length=120, help_text="Empty: the provider's default chat model.")
    fallback_provider = forms.ChoiceField(required=False)
    collections = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="The documents the bot answers from."
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.2, help_text="0 to 2; lower is more literal.")
    max_answer_tokens = forms.IntegerField(min_value=16, max_value=8000, initial=700)
    top_k = forms.IntegerField(
        min_value=1,
        max_value=30,
        initial=6,
        label="Passages per answer",
        help_text="How many passages (top k) the answer may draw on.",
    )
    min_relevance = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        label="Minimum relevance",
        help_text="0 to 1; passages below it are ignored. Empty: calibrated for the documents' embedding model.",
    )
    dont_know_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        initial=DEFAULT_DONT_KNOW,
        label="Answer when nothing is found",
        help_text="Said when the documents hold no answer.",
    )
    welcome_message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    suggested_questions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One per line."
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from apps.documents.models import Collection

        providers = [("", "—")] + [
            (str(p.pk), p.name) for p in ChatbotProvider.objects.for_org(organization).order_by("name")
        ]
        self.fields["provider"].choices = providers  # type: ignore[attr-defined]
        self.fields["fallback_provider"].choices = providers  # type: ignore[attr-defined]
        self.fields["collections"].choices = [  # type: ignore[attr-defined]
            (str(c.pk), c.name) for c in Collection.objects.for_org(organization).order_by("name")
        ]
        self.organization = organization

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("provider", "fallback_provider"):
            data[name] = (
                ChatbotProvider.objects.for_org(self.organization).filter(pk=data[name]).first() if data[name] else None
            )
        data["suggested_questions"] = _lines(data["suggested_questions"])
        return data


# The widget section of the bot page: theme (every surface), where it may run, identity, handoff and budgets.
# Colours left at their default are not stored, so that "follows the primary colour" stays true after a save.
PRIMARY_DEFAULT = "#3056d3"
FOLLOWS_PRIMARY = "primary"
THEME_COLOURS: list[tuple[str, str, str]] = [
    ("primary_color", "Primary colour", PRIMARY_DEFAULT),
    ("header_bg", "Header background", FOLLOWS_PRIMARY),
    ("header_fg", "Header text", "#ffffff"),
    ("launcher_bg", "Launcher background", FOLLOWS_PRIMARY),
    ("launcher_fg", "Launcher icon", "#ffffff"),
    ("bubble_bot_bg", "Bot bubble background", "#f1f3f7"),
    ("bubble_bot_fg", "Bot bubble text", "#1d2330"),
    ("bubble_visitor_bg", "Visitor bubble background", FOLLOWS_PRIMARY),
    ("bubble_visitor_fg", "Visitor bubble text", "#ffffff"),
    ("text_color", "Window text", "#1d2330"),
]
FONT_CHOICES = [
    ("", "System (the visitor's device font)"),
    ('Georgia, "Times New Roman", serif', "Serif"),
    ('"Helvetica Neue", Arial, sans-serif', "Helvetica / Arial"),
    ('ui-rounded, "SF Pro Rounded", system-ui, sans-serif', "Rounded"),
    ("ui-monospace, Menlo, Consolas, monospace", "Monospace"),
]
THEME_SIZES: list[tuple[str, str, int, int, int]] = [
    ("width", "Window width (px)", 380, 300, 640),
    ("height", "Window height (px)", 600, 400, 900),
    ("radius", "Corner radius (px)", 14, 0, 28),
]


class WidgetForm(forms.Form):
    avatar_url = forms.URLField(
        required=False, assume_scheme="https", help_text="An image shown in the widget's header (https)."
    )
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The websites that may embed the widget, one origin per line (https://www.example.com). "
        "An empty list refuses every website.",
    )
    allow_any_origin = forms.BooleanField(
        required=False, label="Allow any website", help_text="Any website may embed this bot's widget."
    )
    require_identity = forms.BooleanField(
        required=False,
        label="Require verified visitors",
        help_text="Only visitors your website signs in (a signed identity token, see the widget guide) may chat.",
    )
    handoff_enabled = forms.BooleanField(
        required=False, label="Visitors may ask for a person", help_text="Shows “Talk to a person” in the widget."
    )
    widget_daily_message_budget = forms.IntegerField(
        required=False, min_value=0, label="Messages per day", help_text="Empty: no daily limit."
    )
    widget_daily_token_budget = forms.IntegerField(
        required=False, min_value=0, label="Tokens per day", help_text="Empty: no daily limit."
    )
    dark_mode = forms.ChoiceField(
        choices=[("auto", "Follow the visitor's device"), ("light", "Light"), ("dark", "Dark")], initial="auto"
    )
    position = forms.ChoiceField(choices=[("right", "Bottom right"), ("left", "Bottom left")], initial="right")
    font_family = forms.ChoiceField(required=False, choices=FONT_CHOICES, label="Font")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label, default in THEME_COLOURS:
            initial = PRIMARY_DEFAULT if default == FOLLOWS_PRIMARY else default
            self.fields[name] = forms.RegexField(
                regex=r"^#[0-9a-fA-F]{6}$",
                label=label,
                initial=initial,
                widget=forms.TextInput(attrs={"type": "color", "data-theme": name, "data-default": default}),
            )
        for name, label, size, low, high in THEME_SIZES:
            self.fields[name] = forms.IntegerField(
                label=label,
                initial=size,
                min_value=low,
                max_value=high,
                widget=forms.NumberInput(attrs={"data-theme": name}),
            )
        for name in ("dark_mode", "position", "font_family"):
            self.fields[name].widget.attrs["data-theme"] = name

    SECTIONS = [
        ("Where it may run", ["allowed_origins", "allow_any_origin", "require_identity", "handoff_enabled"]),
        (
            "Look",
            ["avatar_url"]
            + [name for name, _, _ in THEME_COLOURS]
            + ["font_family", "dark_mode", "position"]
            + [name for name, *_ in THEME_SIZES],
        ),
        ("Daily budget", ["widget_daily_message_budget", "widget_daily_token_budget"]),
    ]

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.SECTIONS]

    @staticmethod
    def initial_for(bot: Chatbot) -> dict[str, Any]:
        theme: dict[str, Any] = dict(getattr(bot, "widget_theme", None) or {})
        primary = theme.get("primary_color") or PRIMARY_DEFAULT
        initial: dict[str, Any] = {
            name: getattr(bot, name, None)
            for name in (
                "avatar_url",
                "allow_any_origin",
                "require_identity",
                "handoff_enabled",
                "widget_daily_message_budget",
                "widget_daily_token_budget",
            )
        }
        initial["allowed_origins"] = "\n".join(bot.allowed_origins)
        for name, _, default in THEME_COLOURS:
            initial[name] = theme.get(name) or (primary if default == FOLLOWS_PRIMARY else default)
        for name, _, size, _, _ in THEME_SIZES:
            initial[name] = theme.get(name) or size
        for name in ("dark_mode", "position", "font_family"):
            if theme.get(name):
                initial[name] = theme[name]
        return initial

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        primary = data["primary_color"].lower()
        theme: dict[str, Any] = {}
        for name, _, default in THEME_COLOURS:
            value = data[name].lower()
            if value != (primary if default == FOLLOWS_PRIMARY else default):
                theme[name] = value
        for name, _, size, _, _ in THEME_SIZES:
            if data[name] != size:
                theme[name] = data[name]
        theme["dark_mode"] = data["dark_mode"]
        theme["position"] = data["position"]
        if data["font_family"]:
            theme["font_family"] = data["font_family"]
        return {
            "widget_theme": widget_theme_clean(theme),
            "avatar_url": data["avatar_url"],
            "allowed_origins": _lines(data["allowed_origins"]),
            "allow_any_origin": data["allow_any_origin"],
            "require_identity": data["require_identity"],
            "handoff_enabled": data["handoff_enabled"],
            "widget_daily_message_budget": data["widget_daily_message_budget"],
            "widget_daily_token_budget": data["widget_daily_token_budget"],
        }


def _bot(organization: Organization, pk: Any) -> Chatbot:
    return selectors.bot_get(organization=organization, bot_id=pk)  # NotFound → 404 at the boundary


@tenant_required(Role.MEMBER)
def bot_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    bots = selectors.bot_list(organization=actor.org)
    can_edit = actor.role is not None and actor.role.at_least(Role.ADMIN)
    return render(request, "chatbot/list.html", {"bots": bots, "can_edit": can_edit})


def _bot_initial(bot: Chatbot) -> dict[str, Any]:
    initial = {name: getattr(bot, name) for name in bot_services.BOT_FIELDS}
    initial["provider"] = str(bot.provider_id or "")
    initial["fallback_provider"] = str(bot.fallback_provider_id or "")
    initial["suggested_questions"] = "\n".join(bot.suggested_questions)
    initial["collections"] = [str(pk) for pk in bot.collections.values_list("id", flat=True)]
    return initial


@tenant_required(Role.ADMIN)
def bot_edit(request: HttpRequest, pk: Any = None) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk) if pk else None
    form = BotForm(request.POST or None, initial=_bot_initial(bot) if bot else {}, organization=actor.org)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if bot is None:
                bot = bot_services.bot_create(organization=actor.org, actor=actor, **fields)
            else:
                bot = bot_services.bot_update(bot=bot, actor=actor, **fields)
        except DomainError as error:
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"Bot {bot.name} saved.")
            return redirect("bot-list")
    return _bot_page(request, form, bot)


def _bot_page(
    request: HttpRequest, form: BotForm, bot: Chatbot | None, widget_form: WidgetForm | None = None
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "bot": bot}
    if bot is not None:
        context["widget_form"] = widget_form or WidgetForm(initial=WidgetForm.initial_for(bot))
        context["widget_url"] = request.build_absolute_uri("/widget.js")
        context["has_identity_secret"] = bool(bot.identity_secret)
    return render(request, "chatbot/form.html", context)


@require_POST
@tenant_required(Role.ADMIN)
def bot_widget(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk)
    widget_form = WidgetForm(request.POST)
    if widget_form.is_valid():
        try:
            bot_services.bot_update(bot=bot, actor=actor, **widget_form.service_fields())
        except DomainError as error:
            form_add_domain_error(widget_form, error)
        else:
            messages.success(request, f"Widget settings of {bot.name} saved.")
            return redirect("bot-edit", pk=bot.pk)
    return _bot_page(request, BotForm(initial=_bot_initial(bot), organization=actor.org), bot, widget_form)


@require_POST
@tenant_required(Role.ADMIN)
def bot_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk)
    bot_services.bot_delete(bot=bot, actor=actor)
    messages.success(request, f"Bot {bot.name} deleted.")
    return redirect("bot-list")


# The playground (the bot's test chat): its conversations are the user's own `web` conversations with the bot.


class TryForm(forms.Form):
    """The question, and other settings for this one answer (empty: the bot's own)."""

    message = forms.CharField(max_length=100_000, strip=False)
    conversation = forms.UUIDField(required=False)
    top_k = forms.IntegerField(required=False, min_value=1, max_value=30)
    min_relevance = forms.FloatField(required=False, min_value=0, max_value=1)
    provider = forms.CharField(required=False, max_length=64)

    def try_settings(self) -> TrySettings:
        data = self.cleaned_data
        return TrySettings(top_k=data["top_k"], min_relevance=data["min_relevance"], provider=data["provider"] or None)


def _playground_conversation(request: HttpRequest, bot: Chatbot, conversation_id: Any) -> Conversation | None:
    """The signed-in user's own test-chat conversation with this bot, or 404."""
    actor = actor_of(request)
    if not conversation_id:
        return None
    conversation = (
        Conversation.objects.for_org(actor.org)
        .filter(pk=conversation_id, bot=bot, user=actor.user, source=Conversation.Source.WEB)
        .first()
    )
    if conversation is None:
        raise Http404("Conversation not found.")
    return conversation


@tenant_required(Role.MEMBER)
def bot_chat(request: HttpRequest, pk: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk)
    conversation = None
    if raw := request.GET.get("conversation", ""):
        try:
            conversation = _playground_conversation(request, bot, uuid.UUID(raw))
        except ValueError:
            raise Http404("Conversation not found.") from None
    is_admin = actor.role is not None and actor.role.at_least(Role.ADMIN)
    return render(
        request,
        "chatbot/chat.html",
        {
            "bot": bot,
            "organization": actor.org,
            "conversation": conversation,
            "history": selectors.playground_conversations(organization=actor.org, bot=bot, user=actor.user),
            "transcript": (
                selectors.conversation_transcript(organization=actor.org, conversation=conversation)
                if conversation
                else []
            ),
            "is_admin": is_admin,
            "providers": ChatbotProvider.objects.for_org(actor.org).order_by("name") if is_admin else [],
            "offline": OFFLINE,
            "playground": True,
        },
    )


@require_POST
@tenant_required(Role.MEMBER)
def bot_chat_ask(request: HttpRequest, pk: Any) -> HttpResponseBase:
    """The playground's question: the answer as Server-Sent Events (token, citations, done | error); a question
    that cannot start gets the common error format as JSON."""
    actor = actor_of(request)
    _bot(actor.org, pk)  # another organization's bot is not found, whatever the body says
    form = TryForm(request.POST)
    if not form.is_valid():
        details = {field: [str(e) for e in errors] for field, errors in form.errors.items()}
        return JsonResponse(error_body("validation_error", "Check the question and the settings.", details), status=400)
    try:
        turn = playground_turn_open(
            actor=actor,
            bot_id=pk,
            message=form.cleaned_data["message"],
            conversation_id=form.cleaned_data["conversation"],
            settings=form.try_settings(),
        )
    except DomainError as error:
        return JsonResponse(error_body(error.code, error.message, error.details), status=error.status_code)
    return sse_response(request, turn)


def _playground_turn(request: HttpRequest, bot: Chatbot, message_id: Any) -> HttpResponse:
    actor = actor_of(request)
    message = selectors.message_get(organization=actor.org, message_id=message_id)
    _playground_conversation(request, bot, message.conversation_id)
    transcript = selectors.conversation_transcript(organization=actor.org, conversation=message.conversation)
    shown = next(m for m in transcript if m.pk == message.pk)
    return render(request, "chatbot/_turn.html", {"m": shown, "bot": bot, "playground": True, "open_evidence": True})


@tenant_required(Role.MEMBER)
def bot_chat_turn(request: HttpRequest, pk: Any, message_id: Any) -> HttpResponse:
    """One answer of the playground, rendered (Markdown, citations, evidence, feedback buttons)."""
    return _playground_turn(request, _bot(actor_of(request).org, pk), message_id)


@require_POST
@tenant_required(Role.MEMBER)
def bot_chat_feedback(request: HttpRequest, pk: Any, message_id: Any) -> HttpResponse:
    actor = actor_of(request)
    bot = _bot(actor.org, pk)
    rating = request.POST.get("rating", "")
    if rating not in Feedback.Rating.values:
        return HttpResponse("Choose up or down.", status=400)
    message = selectors.message_get(organization=actor.org, message_id=message_id)
    _playground_conversation(request, bot, message.conversation_id)
    feedback_give(actor=actor, message=message, rating=rating)
    if request.headers.get("HX-Request"):
        return _playground_turn(request, bot, message_id)
    return redirect(f"{reverse('bot-chat-page', args=[bot.pk])}?conversation={message.conversation_id}#m{message.seq}")


# The conversations inbox: every conversation of the organization, filtered, searched and exported (admins).

INBOX_PAGE_SIZE = 50
EXPORT_LIMIT = 10_000  # conversations per list export; narrow the filters for more
SOURCE_CHOICES = [
    ("", "Any source"),
    (Conversation.Source.API, "API"),
    (Conversation.Source.WIDGET, "Widget"),
    (Conversation.Source.WEB, "Test chat (web)"),
    (Conversation.Source.ROOM, "Rooms"),
]
OUTCOME_CHOICES = [
    ("", "Any outcome"),
    ("answered", "Answered"),
    ("dont_know", "Did not know"),
    ("failed", "Failed"),
]
FEEDBACK_CHOICES = [("", "Any feedback"), ("up", "Thumbs up"), ("down", "Thumbs down")]
HANDOFF_CHOICES = [("", "Any"), ("yes", "Has handoff"), ("no", "No handoff")]


class InboxFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search messages")
    bot = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False, choices=SOURCE_CHOICES)
    outcome = forms.ChoiceField(required=False, choices=OUTCOME_CHOICES)
    feedback = forms.ChoiceField(required=False, choices=FEEDBACK_CHOICES)
    handoff = forms.ChoiceField(required=False, choices=HANDOFF_CHOICES, label="Person asked for")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bot"].choices = [("", "Any bot")] + [  # type: ignore[attr-defined]
            (str(bot.pk), bot.name) for bot in selectors.bot_list(organization=organization)
        ]

    def filters(self) -> selectors.InboxFilters:
        if not self.is_valid():
            return selectors.InboxFilters()
        data = self.cleaned_data
        return selectors.InboxFilters(
            bot_id=data["bot"] or None,
            source=data["source"],
            start=data["start"],
            end=data["end"],
            outcome=data["outcome"],
            feedback=data["feedback"],
            handoff=data["handoff"],
            q=data["q"],
        )


def _inbox(request: HttpRequest) -> tuple[InboxFilterForm, QuerySet[Conversation]]:
    organization = actor_of(request).org
    form = InboxFilterForm(request.GET or None, organization=organization)
    return form, selectors.conversation_inbox(organization=organization, filters=form.filters())


@tenant_required(Role.ADMIN)
def conversation_list(request: HttpRequest) -> HttpResponse:
    form, conversations = _inbox(request)
    page = Paginator(conversations, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "chatbot/conversations.html",
        {"form": form, "page": page, "query": query.urlencode(), "filtered": bool(query)},
    )


@tenant_required(Role.ADMIN)
def conversation_list_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _, conversations = _inbox(request)
    rows = (_conversation_row(c) for c in conversations[:EXPORT_LIMIT])
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "json":
        response = JsonResponse({"conversations": list(rows)}, json_dumps_params={"ensure_ascii": False})
        response["Content-Disposition"] = f'attachment; filename="conversations-{stamp}.json"'
        return response
    return _csv_response(f"conversations-{stamp}.csv", CONVERSATION_COLUMNS, rows)


@tenant_required(Role.ADMIN)
def conversation_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    organization = actor_of(request).org
    conversation = selectors.conversation_get(organization=organization, conversation_id=pk)
    transcript = selectors.conversation_transcript(organization=organization, conversation=conversation)
    back = request.GET.get("back", "")
    return render(
        request,
        "chatbot/conversation.html",
        {
            "conversation": conversation,
            "transcript": transcript,  # not "messages": base.html shows the flash messages under that name
            "back": back if back.startswith("?") else "",
        },
    )


@tenant_required(Role.ADMIN)
def conversation_export_page(request: HttpRequest, pk: Any, fmt: str) -> HttpResponse:
    organization = actor_of(request).org
    conversation = selectors.conversation_get(organization=organization, conversation_id=pk)
    exported = conversation_export(conversation=conversation)
    name = f"conversation-{conversation.pk}"
    if fmt == "json":
        response = JsonResponse(exported, json_dumps_params={"ensure_ascii": False})
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    rows = (
        {
            "seq": m["seq"],
            "created_at": m["created_at"],
            "sender": m["sender"]["kind"],
            "role": m["role"],
            "status": m["status"],
            "content": m["content"],
            "citations": " | ".join(
                f"[{c.get('marker')}] {c.get('document_title', '')}" + (f" p. {c['page']}" if c.get("page") else "")
                for c in m["citations"]
            ),
            "model": m["model"],
            "prompt_tokens": m["usage"]["prompt_tokens"],
            "completion_tokens": m["usage"]["completion_tokens"],
            "ttft_ms": m["latency_ms"]["first_token"],
            "total_ms": m["latency_ms"]["total"],
            "feedback": (m["feedback"] or {}).get("rating", ""),
        }
        for m in exported["messages"]
    )
    return _csv_response(f"{name}.csv", MESSAGE_COLUMNS, rows)


CONVERSATION_COLUMNS = [
    "id",
    "created_at",
    "last_message_at",
    "bot",
    "source",
    "kind",
    "title",
    "first_question",
    "messages",
    "dont_know",
    "failed",
    "thumbs_up",
    "thumbs_down",
    "handoff_state",
]
MESSAGE_COLUMNS = [
    "seq",
    "created_at",
    "sender",
    "role",
    "status",
    "content",
    "citations",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "ttft_ms",
    "total_ms",
    "feedback",
]


def _conversation_row(conversation: Any) -> dict[str, Any]:
    return {
        "id": str(conversation.pk),
        "created_at": conversation.created_at.isoformat(),
        "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
        "bot": conversation.bot.name if conversation.bot else "",
        "source": conversation.source,
        "kind": conversation.kind,
        "title": conversation.title,
        "first_question": conversation.first_question or "",
        "messages": conversation.last_seq,
        "dont_know": conversation.not_known,
        "failed": conversation.failed,
        "thumbs_up": conversation.thumbs_up,
        "thumbs_down": conversation.thumbs_down,
        "handoff_state": conversation.handoff_state,
    }


def _csv_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is quoted with a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _csv_response(filename: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> HttpResponse:
    """A CSV attachment (bounded by EXPORT_LIMIT rows, so built in memory), UTF-8 with a BOM for spreadsheets."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row[column]) for column in columns])
    return response
