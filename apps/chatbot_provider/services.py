"""Managing an organization's providers: create, change, delete (audited), and test the connection.

Talking to a provider is `apps.chatbot_provider.clients`; which base URLs may be called is `url_safety`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError

from apps.chatbot_provider import local_model
from apps.chatbot_provider.clients import ChatMessage, client_for, embed_texts, stream_chat
from apps.chatbot_provider.errors import ProviderAddressBlocked, ProviderError, ProviderMisconfigured
from apps.chatbot_provider.models import ChatbotProvider, ProviderKind
from apps.chatbot_provider.url_safety import check_base_url
from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.organizations.models import Organization
from common.core.errors import Conflict, ValidationFailed


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str
    latency_ms: int
    model: str
    error_code: str = ""


# ---------------------------------------------------------------------------------------------- CRUD

PROVIDER_FIELDS = (
    "name",
    "kind",
    "api_key",
    "base_url",
    "default_chat_model",
    "default_embedding_model",
    "timeout_seconds",
    "max_retries",
)


def _validate(provider: ChatbotProvider) -> None:
    client = client_for(provider)
    problems: dict[str, list[str]] = {}
    if provider.base_url and client.uses_network:
        try:
            check_base_url(provider.base_url)
        except ProviderAddressBlocked as blocked:
            problems["base_url"] = [blocked.message]
    for field, message in client.required_fields.items():
        if not getattr(provider, field):
            problems[field] = [message]
    if provider.kind == ProviderKind.LOCAL and not local_model.available():
        problems["kind"] = [f"The local model is not installed on this server ({local_model.INSTALL_HINT})."]
    if provider.timeout_seconds <= 0 or provider.timeout_seconds > 600:
        problems["timeout_seconds"] = ["Choose a timeout between 0 and 600 seconds."]
    if provider.max_retries > 5:
        problems["max_retries"] = ["At most 5 retries."]
    if (
        ChatbotProvider.objects.for_org(provider.organization_id)
        .filter(name=provider.name)
        .exclude(pk=provider.pk)
        .exists()
    ):
        problems["name"] = ["A provider with this name already exists."]
    if problems:
        raise ValidationFailed(details=problems)
    provider.default_chat_model = provider.default_chat_model or client.default_chat_model
    provider.default_embedding_model = provider.default_embedding_model or client.default_embedding_model


@transaction.atomic
def provider_create(*, organization: Organization, actor: Actor, **fields: Any) -> ChatbotProvider:
    provider = ChatbotProvider(organization=organization, **{k: v for k, v in fields.items() if v is not None})
    _validate(provider)
    provider.save()
    audit_record(
        actor=actor,
        action=AuditAction.PROVIDER_CREATED,
        target=provider,
        data={"name": provider.name, "kind": provider.kind},
    )
    return provider


@transaction.atomic
def provider_update(*, provider: ChatbotProvider, actor: Actor, **fields: Any) -> ChatbotProvider:
    changed = []
    for name, value in fields.items():
        if name not in PROVIDER_FIELDS or value is None:
            continue
        if name == "api_key" and value == "":
            continue  # write-only: an empty value keeps the stored key
        if getattr(provider, name) != value:
            setattr(provider, name, value)
            changed.append(name)
    _validate(provider)
    provider.save()
    # The changed field names are recorded, never the values (the key among them).
    audit_record(
        actor=actor,
        action=AuditAction.PROVIDER_UPDATED,
        target=provider,
        data={"name": provider.name, "kind": provider.kind, "changed": changed},
    )
    return provider


@transaction.atomic
def provider_delete(*, provider: ChatbotProvider, actor: Actor) -> None:
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.PROVIDER_DELETED,
                target=provider,
                data={"name": provider.name, "kind": provider.kind},
            )
            provider.delete()
    except ProtectedError:
        raise Conflict(
            "Bots still answer with this provider: choose another provider for them first.",
            details={"provider": ["In use by a bot."]},
        ) from None


# ------------------------------------------------------------------------------------ test connection


def provider_test_connection(*, provider: ChatbotProvider) -> ConnectionTestResult:
    """Make one tiny real call and report success or the provider's error in plain words."""
    started = time.perf_counter()
    client = client_for(provider)
    if provider.kind == ProviderKind.LOCAL:
        try:
            embed_texts(provider=provider, texts=["connection test"], model="", dimensions=local_model.DIMENSIONS)
        except ProviderError as error:
            return ConnectionTestResult(False, error.message, 0, local_model.MODEL_NAME, error.code)
        latency = int((time.perf_counter() - started) * 1000)
        message = f"The local model {local_model.MODEL_NAME} runs on this server: it embedded a text in {latency} ms."
        return ConnectionTestResult(True, message, latency, local_model.MODEL_NAME)
    if not client.uses_network:
        message = "The offline provider needs no network and is ready."
        return ConnectionTestResult(True, message, 0, client.default_chat_model)
    model = provider.default_chat_model or provider.default_embedding_model
    try:
        if provider.default_chat_model:
            stream = stream_chat(
                provider=provider,
                messages=[ChatMessage("user", "Reply with the word OK.")],
                model=provider.default_chat_model,
                max_tokens=5,
                temperature=0,
            )
            for _ in stream:
                break
        elif provider.default_embedding_model:
            embed_texts(
                provider=provider,
                texts=["connection test"],
                model=provider.default_embedding_model,
                dimensions=int(settings.EMBEDDING_DIMENSIONS),
            )
        else:
            raise ProviderMisconfigured("Set a default chat model or embedding model to test this provider.")
    except ProviderError as error:
        latency = int((time.perf_counter() - started) * 1000)
        return ConnectionTestResult(False, error.message, latency, model, error.code)
    latency = int((time.perf_counter() - started) * 1000)
    return ConnectionTestResult(True, f"Connected: {model} answered in {latency} ms.", latency, model)
