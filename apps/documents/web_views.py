"""Documents pages: collections and their documents (status, progress, failure reason), upload, URL
import, pasted text, reindex and delete, and a document page with its diagnostics."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.documents import selectors
from apps.documents.models import Collection, DocumentStatus
from apps.documents.services import documents as document_services
from apps.organizations.models import Role
from apps.organizations.tenancy import TenantContext, resolve_tenant
from common.core.errors import DomainError, PermissionDeniedError


def _tenant(request: HttpRequest, needed: Role = Role.MEMBER) -> TenantContext:
    tenant = resolve_tenant(request)
    if tenant.role is None or not tenant.role.at_least(needed):
        raise PermissionDeniedError(f"This action needs the {needed.label.lower()} role or higher.")
    return tenant


def _guard(request: HttpRequest, needed: Role) -> TenantContext | HttpResponse:
    try:
        return _tenant(request, needed)
    except DomainError as exc:
        return render(request, "documents/error.html", {"message": exc.message}, status=exc.status_code)


@login_required
@require_http_methods(["GET", "POST"])
def documents_index(request: HttpRequest) -> HttpResponse:
    tenant = _guard(request, Role.ADMIN if request.method == "POST" else Role.MEMBER)
    if isinstance(tenant, HttpResponse):
        return tenant
    typed: dict[str, str] = {}
    if request.method == "POST":
        typed = {"name": request.POST.get("name", "").strip()[:120], "description": request.POST.get("description", "")}
        try:
            document_services.collection_create(
                organization=tenant.organization,
                actor=request.user,
                name=typed["name"] or "Untitled collection",
                description=typed["description"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)  # shown on the re-rendered page, which keeps what was typed
        else:
            messages.success(request, "Collection created.")
            return redirect("documents-index")
    collections = list(Collection.objects.for_org(tenant.organization).order_by("name"))
    context = _index_context(tenant, collections, request)
    return render(request, "documents/index.html", {**context, "new_collection": typed})


def _index_context(tenant: TenantContext, collections: list[Collection], request: HttpRequest) -> dict[str, Any]:
    status = request.GET.get("status", "")
    status = status if status in DocumentStatus.values else ""
    groups = []
    busy = False
    for collection in collections:
        documents = list(
            selectors.document_list(
                organization=tenant.organization,
                collection=collection,
                status=status,
            )[:200]
        )
        busy = busy or any(d.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING) for d in documents)
        groups.append({"collection": collection, "documents": documents})
    is_admin = tenant.role is not None and tenant.role.at_least(Role.ADMIN)
    return {"groups": groups, "busy": busy, "is_admin": is_admin, "status": status, "statuses": DocumentStatus}


@login_required
def documents_table(request: HttpRequest) -> HttpResponse:
    """The collections and documents block alone, polled by htmx while documents are indexing."""
    tenant = _guard(request, Role.MEMBER)
    if isinstance(tenant, HttpResponse):
        return tenant
    collections = list(Collection.objects.for_org(tenant.organization).order_by("name"))
    return render(request, "documents/_collections.html", _index_context(tenant, collections, request))


@login_required
@require_POST
def collection_add(request: HttpRequest, collection_id: str) -> HttpResponse:
    tenant = _guard(request, Role.ADMIN)
    if isinstance(tenant, HttpResponse):
        return tenant
    try:
        document_services.upload_request_check(content_length=request.META.get("CONTENT_LENGTH"))
        collection = selectors.collection_get(organization=tenant.organization, collection_id=collection_id)
        kind = request.POST.get("kind", "")
        if kind == "upload":
            results = document_services.document_create_from_uploads(
                collection=collection, actor=request.user, files=request.FILES.getlist("files")
            )
            fresh = sum(1 for r in results if r.created)
            messages.success(request, f"{fresh} document(s) queued; {len(results) - fresh} already present.")
        elif kind == "url":
            document_services.document_create_from_url(
                collection=collection, actor=request.user, url=request.POST.get("url", "").strip()
            )
            messages.success(request, "URL queued for import.")
        elif kind == "text":
            document_services.document_create_from_text(
                collection=collection,
                actor=request.user,
                title=request.POST.get("title", ""),
                text=request.POST.get("text", ""),
            )
            messages.success(request, "Text queued.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("documents-index")


@login_required
def document_page(request: HttpRequest, document_id: str) -> HttpResponse:
    tenant = _guard(request, Role.MEMBER)
    if isinstance(tenant, HttpResponse):
        return tenant
    try:
        document = selectors.document_get(organization=tenant.organization, document_id=document_id)
    except DomainError as exc:
        return render(request, "documents/error.html", {"message": exc.message}, status=exc.status_code)
    context = {
        "document": document,
        "diagnostics": selectors.document_diagnostics(document=document),
        "is_admin": tenant.role is not None and tenant.role.at_least(Role.ADMIN),
        "busy": document.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING),
    }
    return render(request, "documents/detail.html", context)


@login_required
@require_POST
def document_action(request: HttpRequest, document_id: str, action: str) -> HttpResponse:
    tenant = _guard(request, Role.ADMIN)
    if isinstance(tenant, HttpResponse):
        return tenant
    try:
        document = selectors.document_get(organization=tenant.organization, document_id=document_id)
        if action == "reindex":
            document_services.document_reindex(document=document, actor=request.user)
            messages.success(request, f"'{document.title}' queued for indexing.")
        elif action == "delete":
            document_services.document_delete(document=document, actor=request.user)
            messages.success(request, f"'{document.title}' deleted.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("documents-index")
