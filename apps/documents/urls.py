"""URL routes of the documents app, mounted under /api/v1/."""

from django.urls import path

from apps.documents import api

urlpatterns = [
    path("collections", api.CollectionListCreateAPI.as_view(), name="collection-list"),
    path("collections/<uuid:collection_id>", api.CollectionDetailAPI.as_view(), name="collection-detail"),
    path(
        "collections/<uuid:collection_id>/documents", api.CollectionDocumentsAPI.as_view(), name="collection-documents"
    ),
    path(
        "collections/<uuid:collection_id>/documents/url",
        api.CollectionDocumentUrlAPI.as_view(),
        name="collection-documents-url",
    ),
    path(
        "collections/<uuid:collection_id>/documents/text",
        api.CollectionDocumentTextAPI.as_view(),
        name="collection-documents-text",
    ),
    path("documents", api.DocumentListAPI.as_view(), name="document-list"),
    path("documents/<uuid:document_id>", api.DocumentDetailAPI.as_view(), name="document-detail"),
    path("documents/<uuid:document_id>/reindex", api.DocumentReindexAPI.as_view(), name="document-reindex"),
    path("documents/<uuid:document_id>/chunks", api.DocumentChunksAPI.as_view(), name="document-chunks"),
    path("search", api.SearchAPI.as_view(), name="search"),
]
