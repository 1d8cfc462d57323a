"""The Django admin is run by the deployment's staff across organizations: its reads are deliberately unscoped."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


def _unscoped(queryset: Any) -> Any:
    return queryset.unscoped() if hasattr(queryset, "unscoped") else queryset


class _Unscoped:
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _unscoped(super().get_queryset(request))  # type: ignore[misc]


class CrossOrganizationInline(_Unscoped, admin.TabularInline):  # type: ignore[type-arg]
    """An inline of tenant-owned rows, read through unscoped() (its parent row names them)."""


class CrossOrganizationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """ModelAdmin for tenant-owned models: lists, forms and choices read every organization, on purpose."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _unscoped(super().get_queryset(request))  # type: ignore[no-any-return]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", _unscoped(db_field.remote_field.model._default_manager.get_queryset()))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", _unscoped(db_field.remote_field.model._default_manager.get_queryset()))
        return super().formfield_for_manytomany(db_field, request, **kwargs)
