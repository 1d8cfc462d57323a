"""Documents pages: the collections (counts, create, rename, delete), a collection's documents (paginated,
searched by title, filtered by status and type, bulk reindex and delete, upload, URL import, pasted text),
and a document page with its diagnostics, a cited passage and the original file."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from apps.documents import selectors
from apps.documents.models import Collection, DocumentStatus
from apps.documents.services import documents as document_services
from apps.documents.types import KINDS, PDF
from apps.organizations.actors import Actor
from apps.organizations.models import Role
from apps.organizations.web import actor_of, tenant_required
from common.core.errors import DomainError

PAGE_SIZE = 50
ATTENTION_LIMIT = 10  # failed documents listed on the collections page


def _is_admin(actor: Actor) -> bool:
    return actor.role is not None and actor.role.at_least(Role.ADMIN)


@require_http_methods(["GET", "POST"])
@tenant_required(Role.MEMBER, write=Role.ADMIN)
def documents_index(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    typed: dict[str, str] = {}
    if request.method == "POST":
        typed = {"name": request.POST.get("name", "").strip()[:120], "description": request.POST.get("description", "")}
        try:
            collection = document_services.collection_create(
                organization=actor.org,
                actor=actor,
                name=typed["name"] or "Untitled collection",
                description=typed["description"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)  # shown on the re-rendered page, which keeps what was typed
        else:
            messages.success(request, "Collection created.")
            return redirect("documents-collection", collection_id=collection.pk)
    failed = selectors.document_list(organization=actor.org, status=DocumentStatus.FAILED).order_by("-created_at")
    context = {
        "collections": list(selectors.collection_overview(organization=actor.org)),
        "failed": list(failed[:ATTENTION_LIMIT]),
        "failed_count": failed.count(),
        "is_admin": _is_admin(actor),
        "new_collection": typed,
    }
    return render(request, "documents/index.html", context)


def _collection_context(request: HttpRequest, collection: Collection) -> dict[str, Any]:
    actor = actor_of(request)
    filters = {
        "q": request.GET.get("q", "").strip()[:200],
        "status": request.GET.get("status", "") if request.GET.get("status", "") in DocumentStatus.values else "",
        "type": request.GET.get("type", "") if request.GET.get("type", "") in KINDS else "",
    }
    documents = selectors.document_search(
        organization=actor.org,
        collection=collection,
        title=filters["q"],
        status=filters["status"],
        kind=filters["type"],
    )
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in filters.items() if v}
    return {
        "collection": collection,
        "page": page,
        "filters": filters,
        "filtered": bool(query),
        "query": urlencode(query),
        "busy": any(d.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING) for d in page.object_list),
        "is_admin": _is_admin(actor),
        "statuses": DocumentStatus.choices,
        "kinds": [(key, name) for key, (name, _mime) in KINDS.items()],
    }


@tenant_required(Role.MEMBER)
def collection_page(request: HttpRequest, collection_id: str) -> HttpResponse:
    collection = selectors.collection_get(organization=actor_of(request).org, collection_id=collection_id)
    return render(request, "documents/collection.html", _collection_context(request, collection))


@tenant_required(Role.MEMBER)
def collection_table(request: HttpRequest, collection_id: str) -> HttpResponse:
    """The documents table alone, polled by htmx while documents of the page are indexing."""
    collection = selectors.collection_get(organization=actor_of(request).org, collection_id=collection_id)
    return render(request, "documents/_documents.html", _collection_context(request, collection))


def _back_to(collection_id: Any) -> HttpResponse:
    return redirect("documents-collection", collection_id=collection_id)


@require_POST
@tenant_required(Role.ADMIN)
def collection_rename(request: HttpRequest, collection_id: str) -> HttpResponse:
    actor = actor_of(request)
    collection = selectors.collection_get(organization=actor.org, collection_id=collection_id)
    name = request.POST.get("name", "").strip()
    try:
        if not name:
            messages.error(request, "A collection needs a name.")
        else:
            document_services.collection_update(
                collection=collection,
                actor=actor,
                name=name[:120],
                description=request.POST.get("description", collection.description),
            )
            messages.success(request, f"Collection renamed to {name[:120]}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back_to(collection.pk)


@require_POST
@tenant_required(Role.ADMIN)
def collection_delete(request: HttpRequest, collection_id: str) -> HttpResponse:
    actor = actor_of(request)
    collection = selectors.collection_get(organization=actor.org, collection_id=collection_id)
    document_services.collection_delete(collection=collection, actor=actor)
    messages.success(request, f"Collection {collection.name} and its documents were deleted.")
    return redirect("documents-index")


@require_POST
@tenant_required(Role.ADMIN)
def collection_bulk(request: HttpRequest, collection_id: str) -> HttpResponse:
    actor = actor_of(request)
    collection = selectors.collection_get(organization=actor.org, collection_id=collection_id)
    action = request.POST.get("action", "")
    ids = request.POST.getlist("documents")
    if not ids:
        messages.error(request, "Select documents first.")
        return _back_to(collection.pk)
    try:
        done = document_services.document_bulk_action(
            collection=collection, actor=actor, document_ids=_valid_ids(ids), action=action
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        verb = "queued for indexing" if action == "reindex" else "deleted"
        messages.success(request, f"{done} document{'s' if done != 1 else ''} {verb}.")
    return _back_to(collection.pk)


def _valid_ids(values: list[str]) -> list[str]:
    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return valid


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
    return _back_to(collection_id)


@tenant_required(Role.MEMBER)
def document_page(request: HttpRequest, document_id: str) -> HttpResponse:
    actor = actor_of(request)
    document = selectors.document_get(organization=actor.org, document_id=document_id)
    passage = None
    if chunk_ids := _valid_ids([request.GET.get("chunk", "")]):
        passage = selectors.chunk_list(organization=actor.org, document=document).filter(pk=chunk_ids[0]).first()
    context = {
        "document": document,
        "diagnostics": selectors.document_diagnostics(document=document),
        "is_admin": _is_admin(actor),
        "busy": document.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING),
        "passage": passage,
        "has_pdf": document.mime_type == PDF and bool(document.file),
    }
    return render(request, "documents/detail.html", context)


@tenant_required(Role.MEMBER)
def document_file(request: HttpRequest, document_id: str) -> HttpResponseBase:
    """The original file: a PDF opens in the browser (a `#page=N` anchor opens it at that page); every other
    type downloads, so that no uploaded HTML ever runs as a page of this site."""
    document = selectors.document_get(organization=actor_of(request).org, document_id=document_id)
    if not document.file:
        raise Http404("This document has no stored file.")
    inline = document.mime_type == PDF
    name = document.original_filename or f"{document.title}"
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=not inline,
        filename=name,
        content_type=document.mime_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Nothing in the file may load or run anything; the browser's PDF viewer needs object-src.
    response["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"
    return response


@require_POST
@tenant_required(Role.ADMIN)
def document_action(request: HttpRequest, document_id: str, action: str) -> HttpResponse:
    actor = actor_of(request)
    document = selectors.document_get(organization=actor.org, document_id=document_id)
    try:
        if action == "reindex":
            document_services.document_reindex(document=document, actor=actor)
            messages.success(request, f"'{document.title}' queued for indexing.")
        elif action == "delete":
            document_services.document_delete(document=document, actor=actor)
            messages.success(request, f"'{document.title}' deleted.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("documents-collection", args=[document.collection_id]))
