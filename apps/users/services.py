"""Writes on users."""

from __future__ import annotations

from django.db import transaction

from apps.users.models import User


@transaction.atomic
def user_update_profile(*, user: User, full_name: str | None = None) -> User:
    if full_name is not None:
        user.full_name = full_name.strip()
    user.save(update_fields=["full_name"])
    return user
