"""Documents pages, mounted at the site root."""

from django.urls import path

from apps.documents import web_views

urlpatterns = [
    path("documents/", web_views.documents_index, name="documents-index"),
    path("documents/table/", web_views.documents_table, name="documents-table"),
    path("documents/collections/<uuid:collection_id>/add/", web_views.collection_add, name="documents-add"),
    path("documents/<uuid:document_id>/", web_views.document_page, name="documents-detail"),
    path(
        "documents/<uuid:document_id>/<str:action>/",
        web_views.document_action,
        name="documents-action",
    ),
]
