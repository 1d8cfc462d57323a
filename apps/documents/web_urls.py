"""Documents pages, mounted at the site root."""

from django.urls import path

from apps.documents import web_views

urlpatterns = [
    path("documents/", web_views.documents_index, name="documents-index"),
    path("documents/collections/<uuid:collection_id>/", web_views.collection_page, name="documents-collection"),
    path("documents/collections/<uuid:collection_id>/table/", web_views.collection_table, name="documents-table"),
    path("documents/collections/<uuid:collection_id>/add/", web_views.collection_add, name="documents-add"),
    path(
        "documents/collections/<uuid:collection_id>/rename/",
        web_views.collection_rename,
        name="documents-collection-rename",
    ),
    path(
        "documents/collections/<uuid:collection_id>/delete/",
        web_views.collection_delete,
        name="documents-collection-delete",
    ),
    path("documents/collections/<uuid:collection_id>/bulk/", web_views.collection_bulk, name="documents-bulk"),
    path("documents/<uuid:document_id>/", web_views.document_page, name="documents-detail"),
    path("documents/<uuid:document_id>/file", web_views.document_file, name="documents-file"),
    path(
        "documents/<uuid:document_id>/<str:action>/",
        web_views.document_action,
        name="documents-action",
    ),
]
