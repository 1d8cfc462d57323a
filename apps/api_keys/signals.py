"""Cache hygiene, not business rules: a key deleted with its organization (cascade) must not live on in
the snapshot cache for its remaining seconds."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.api_keys.cache import bump_generation


def forget_deleted_key(sender: Any, instance: Any, **kwargs: Any) -> None:
    prefix = instance.prefix
    bump_generation([prefix])
    transaction.on_commit(lambda: bump_generation([prefix]))
