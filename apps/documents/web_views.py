"""Documents pages: collections and their documents (status, progress, failure reason), upload, URL
import, pasted text, reindex and delete, and a document page with its diagnostics."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.documents import selectors
from apps.documents.models import Collection, DocumentStatus
from apps.documents.services import documents as document_services
from apps.organizations.actors import Actor
from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required
from common.core.errors import DomainError


@require_http_methods(["GET", "POST"])
@tenant_required(Role.MEMBER, write=Role.ADMIN)
def documents_index(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    typed: dict[str, str] = {}
    if request.method == "POST":
        typed = {"name": request.POST.get("name", "").strip()[:120], "description": request.POST.get("description", "")}
        try:
            document_services.collection_create(
                organization=actor.org,
                actor=actor,
                name=typed["name"] or "Untitled collection",
                description=typed["description"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)  # shown on the re-rendered page, which keeps what was typed
        else:
            messages.success(request, "Collection created.")
            return redirect("documents-index")
    collections = list(Collection.objects.for_org(actor.org).order_by("name"))
    context = _index_context(actor, collections, request)
    return render(request, "documents/index.html", {**context, "new_collection": typed})


def _index_context(actor: Actor, collections: list[Collection], request: HttpRequest) -> dict[str, Any]:
    status = request.GET.get("status", "")
    status = status if status in DocumentStatus.values else ""
    groups = []
    busy = False
    for collection in collections:
        documents = list(
            selectors.document_list(
                organization=actor.org,
                collection=collection,
                status=status,
            )[:200]
        )
        busy = busy or any(d.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING) for d in documents)
        groups.append({"collection": collection, "documents": documents})
    is_admin = actor.role is not None and actor.role.at_least(Role.ADMIN)
    return {"groups": groups, "busy": busy, "is_admin": is_admin, "status": status, "statuses": DocumentStatus}


@tenant_required(Role.MEMBER)
def documents_table(request: HttpRequest) -> HttpResponse:
    """The collections and documents block alone, polled by htmx while documents are indexing."""
    actor = actor_of(request)
    collections = list(Collection.objects.for_org(actor.org).order_by("name"))
    return render(request, "documents/_collections.html", _index_context(actor, collections, request))


@require_POST
@tenant_required(Role.ADMIN)
def collection_add(request: HttpRequest, collection_id: str) -> HttpResponse:
    actor = actor_of(request)
    try:
        document_services.upload_request_check(content_length=request.META.get("CONTENT_LENGTH"))
        collection = selectors.collection_get(organization=actor.org, collection_id=collection_id)
        kind = request.POST.get("kind", "")
        if kind == "upload":
            results = document_services.document_create_from_uploads(
                collection=collection, actor=actor, files=request.FILES.getlist("files")
            )
            fresh = sum(1 for r in results if r.created)
            messages.success(request, f"{fresh} document(s) queued; {len(results) - fresh} already present.")
        elif kind == "url":
            document_services.document_create_from_url(
                collection=collection, actor=actor, url=request.POST.get("url", "").strip()
            )
            messages.success(request, "URL queued for import.")
        elif kind == "text":
            document_services.document_create_from_text(
                collection=collection,
                actor=actor,
                title=request.POST.get("title", ""),
                text=request.POST.get("text", ""),
            )
            messages.success(request, "Text queued.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("documents-index")


@tenant_required(Role.MEMBER)
def document_page(request: HttpRequest, document_id: str) -> HttpResponse:
    actor = actor_of(request)
    document = selectors.document_get(organization=actor.org, document_id=document_id)
    context = {
        "document": document,
        "diagnostics": selectors.document_diagnostics(document=document),
        "is_admin": actor.role is not None and actor.role.at_least(Role.ADMIN),
        "busy": document.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING),
    }
    return render(request, "documents/detail.html", context)


@require_POST
@tenant_required(Role.ADMIN)
def document_action(request: HttpRequest, document_id: str, action: str) -> HttpResponse:
    actor = actor_of(request)
    try:
        document = selectors.document_get(organization=actor.org, document_id=document_id)
        if action == "reindex":
            document_services.document_reindex(document=document, actor=actor)
            messages.success(request, f"'{document.title}' queued for indexing.")
        elif action == "delete":
            document_services.document_delete(document=document, actor=actor)
            messages.success(request, f"'{document.title}' deleted.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("documents-index")
