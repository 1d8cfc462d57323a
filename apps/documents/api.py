"""Documents API: collections, document ingestion (upload, URL, text), diagnostics, chunks and search."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.documents import selectors, serializers
from apps.documents.models import Chunk, Collection, Document
from apps.documents.services import documents as document_services
from apps.documents.services import search as search_services
from apps.organizations.actors import Actor, require_access
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView, OrganizationGenericAPIView
from common.core.schema import error_responses

TAGS = ["documents"]
READ = "documents:read"
WRITE = "documents:write"


class ChunkPagination(CursorPagination):
    ordering = "ordinal"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _document(actor: Actor, document_id: str) -> Document:
    """The document, if the caller may reach its collection (API keys may be restricted to some)."""
    document = selectors.document_get(organization=actor.org, document_id=document_id)
    require_access(actor, kind="collection", resource_id=document.collection_id)
    return document


def _accepted(results: list[document_services.DocumentCreated]) -> dict[str, Any]:
    duplicates = {r.document.pk for r in results if not r.created}
    return {"duplicates": duplicates}


class CollectionListCreateAPI(OrganizationGenericAPIView):
    model = Collection
    required_scopes = {"GET": READ, "POST": WRITE}
    serializer_class = serializers.CollectionOutputSerializer

    @extend_schema(tags=TAGS, responses=serializers.CollectionOutputSerializer(many=True), summary="List collections")
    def get(self, request: Request) -> Response:
        collections = selectors.collection_list(
            organization=self.organization, collection_ids=self.actor.restricted_ids("collection")
        )
        page = self.paginate_queryset(collections)
        return self.get_paginated_response(serializers.CollectionOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=serializers.CollectionCreateInputSerializer,
        responses={201: serializers.CollectionOutputSerializer, **error_responses(409)},
        summary="Create a collection",
    )
    def post(self, request: Request) -> Response:
        data = serializers.CollectionCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection = document_services.collection_create(
            organization=self.organization,
            actor=self.actor,
            name=data.validated_data["name"],
            description=data.validated_data["description"],
            embedding_provider_id=data.validated_data.get("embedding_provider_id"),
            embedding_model=data.validated_data["embedding_model"] or None,
            embedding_dimensions=data.validated_data.get("embedding_dimensions"),
        )
        return Response(serializers.CollectionOutputSerializer(collection).data, status=status.HTTP_201_CREATED)


class CollectionDetailAPI(OrganizationAPIView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(tags=TAGS, responses=serializers.CollectionOutputSerializer, summary="Get a collection")
    def get(self, request: Request, collection_id: str) -> Response:
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        return Response(serializers.CollectionOutputSerializer(collection).data)

    @extend_schema(
        tags=TAGS,
        request=serializers.CollectionUpdateInputSerializer,
        responses={200: serializers.CollectionOutputSerializer, **error_responses(409)},
        summary="Rename or describe a collection",
    )
    def patch(self, request: Request, collection_id: str) -> Response:
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        data = serializers.CollectionUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection = document_services.collection_update(collection=collection, actor=self.actor, **data.validated_data)
        return Response(serializers.CollectionOutputSerializer(collection).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a collection with its documents")
    def delete(self, request: Request, collection_id: str) -> Response:
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        document_services.collection_delete(collection=collection, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollectionDocumentsAPI(OrganizationGenericAPIView):
    model = Document
    required_scopes = {"GET": READ, "POST": WRITE}
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = serializers.DocumentOutputSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("status", str, enum=["queued", "processing", "ready", "failed"])],
        responses=serializers.DocumentOutputSerializer(many=True),
        summary="List a collection's documents",
    )
    def get(self, request: Request, collection_id: str) -> Response:
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        documents = selectors.document_list(
            organization=self.organization, collection=collection, status=request.query_params.get("status", "")
        )
        page = self.paginate_queryset(documents)
        return self.get_paginated_response(serializers.DocumentOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request={"multipart/form-data": serializers.UploadInputSerializer},
        responses={202: serializers.UploadOutputSerializer},
        summary="Upload one or more files",
        description="Field `files` may repeat (or use `file`), up to DOCUMENTS_MAX_FILES_PER_UPLOAD files "
        "(default 20) of DOCUMENT_MAX_UPLOAD_BYTES each (default 25 MB). A request whose Content-Length is over "
        "that is refused with 413 `request_too_large` before its body is read; one file over the limit gives 413 "
        "`document_too_large`, more files than allowed 400 `too_many_files`. Identical content already in the "
        "collection returns the existing document with `duplicate: true`.",
    )
    def post(self, request: Request, collection_id: str) -> Response:
        # Before request.FILES: an oversized body is refused without being read or spooled.
        document_services.upload_request_check(content_length=request.META.get("CONTENT_LENGTH"))
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        files = [*request.FILES.getlist("files"), *request.FILES.getlist("file")]
        results = document_services.document_create_from_uploads(collection=collection, actor=self.actor, files=files)
        output = serializers.DocumentAcceptedSerializer(
            [r.document for r in results], many=True, context=_accepted(results)
        )
        return Response({"documents": output.data}, status=status.HTTP_202_ACCEPTED)


class DocumentListAPI(OrganizationGenericAPIView):
    """Every document of the organization (that the caller may reach), newest first."""

    model = Document
    required_roles = {"GET": Role.MEMBER}
    required_scopes = {"GET": READ}
    serializer_class = serializers.DocumentOutputSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[serializers.DocumentListQuerySerializer],
        responses=serializers.DocumentOutputSerializer(many=True),
        summary="List the organization's documents",
        description="Filter by `status` and `collection`. An API key restricted to some collections lists only "
        "their documents (naming another collection is refused with 403).",
    )
    def get(self, request: Request) -> Response:
        query = serializers.DocumentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        collection = None
        if "collection" in query.validated_data:
            collection = selectors.collection_get(
                organization=self.organization, collection_id=query.validated_data["collection"]
            )
            require_access(self.actor, kind="collection", resource_id=collection.pk)
        documents = selectors.document_list(
            organization=self.organization,
            collection=collection,
            status=query.validated_data.get("status", ""),
            collection_ids=self.actor.restricted_ids("collection"),
        )
        page = self.paginate_queryset(documents)
        return self.get_paginated_response(serializers.DocumentOutputSerializer(page, many=True).data)


class CollectionDocumentUrlAPI(OrganizationAPIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=TAGS,
        request=serializers.UrlInputSerializer,
        responses={202: serializers.DocumentAcceptedSerializer},
        summary="Import a web page or file by URL",
    )
    def post(self, request: Request, collection_id: str) -> Response:
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        data = serializers.UrlInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = document_services.document_create_from_url(
            collection=collection, actor=self.actor, url=data.validated_data["url"]
        )
        output = serializers.DocumentAcceptedSerializer(result.document, context=_accepted([result]))
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class CollectionDocumentTextAPI(OrganizationAPIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=TAGS,
        request=serializers.TextInputSerializer,
        responses={202: serializers.DocumentAcceptedSerializer},
        summary="Add pasted text",
    )
    def post(self, request: Request, collection_id: str) -> Response:
        collection = selectors.collection_get(organization=self.organization, collection_id=collection_id)
        data = serializers.TextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = document_services.document_create_from_text(
            collection=collection,
            actor=self.actor,
            title=data.validated_data["title"],
            text=data.validated_data["text"],
        )
        output = serializers.DocumentAcceptedSerializer(result.document, context=_accepted([result]))
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class DocumentDetailAPI(OrganizationAPIView):
    required_scopes = {"GET": READ, "DELETE": WRITE}

    @extend_schema(tags=TAGS, responses=serializers.DocumentDetailSerializer, summary="A document with diagnostics")
    def get(self, request: Request, document_id: str) -> Response:
        document = _document(self.actor, document_id)
        diagnostics = selectors.document_diagnostics(document=document)
        return Response(serializers.DocumentDetailSerializer(document, context={"diagnostics": diagnostics}).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a document, its file and its chunks")
    def delete(self, request: Request, document_id: str) -> Response:
        document = _document(self.actor, document_id)
        document_services.document_delete(document=document, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReindexAPI(OrganizationAPIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=TAGS, request=None, responses={202: serializers.DocumentOutputSerializer}, summary="Index again"
    )
    def post(self, request: Request, document_id: str) -> Response:
        document = _document(self.actor, document_id)
        document = document_services.document_reindex(document=document, actor=self.actor)
        return Response(serializers.DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentChunksAPI(OrganizationGenericAPIView):
    model = Chunk
    required_scopes = {"GET": READ}
    pagination_class = ChunkPagination
    serializer_class = serializers.ChunkOutputSerializer

    @extend_schema(tags=TAGS, responses=serializers.ChunkOutputSerializer(many=True), summary="A document's chunks")
    def get(self, request: Request, document_id: str) -> Response:
        document = _document(self.actor, document_id)
        page = self.paginate_queryset(selectors.chunk_list(organization=self.organization, document=document))
        return self.get_paginated_response(serializers.ChunkOutputSerializer(page, many=True).data)


class SearchAPI(OrganizationAPIView):
    required_roles = {"POST": Role.MEMBER}
    required_scopes = {"POST": "search"}
    parser_classes = [JSONParser]

    @extend_schema(
        tags=["search"],
        request=serializers.SearchInputSerializer,
        responses=serializers.SearchOutputSerializer,
        summary="Hybrid search over the organization's collections",
    )
    def post(self, request: Request) -> Response:
        data = serializers.SearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection_ids = selectors.search_collection_ids(
            organization=self.organization,
            requested=data.validated_data["collection_ids"],
            allowed=self.actor.restricted_ids("collection"),
        )
        result = search_services.search(
            organization=self.organization,
            query=data.validated_data["query"],
            collection_ids=collection_ids,
            top_k=data.validated_data["top_k"],
            mode=data.validated_data["mode"],
        )
        body = {
            "results": [hit.__dict__ for hit in result.hits],
            "plan": result.plan,
            "scope_chunks": result.scope_chunks,
            "fusion": result.fusion,
            "timings_ms": {k: round(v, 2) for k, v in result.timings_ms.items()},
        }
        return Response(serializers.SearchOutputSerializer(body).data)
