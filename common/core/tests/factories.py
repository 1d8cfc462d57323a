"""The base for every app's factories: a factory may create and look up rows of any organization."""

from __future__ import annotations

from typing import Any

import factory


class ModelFactory(factory.django.DjangoModelFactory):
    """DjangoModelFactory that reads tenant-owned models through `unscoped()` (django_get_or_create, ...):
    test data is deliberately set up across organizations."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class: Any) -> Any:
        manager = super()._get_manager(model_class)
        return manager.unscoped() if hasattr(manager, "unscoped") else manager
