"""Encryption at rest for third-party credentials (MultiFernet: the first key encrypts, all decrypt)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("Set the environment variable FIELD_ENCRYPTION_KEYS (see .env.example).")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured("Environment variable FIELD_ENCRYPTION_KEYS holds a malformed Fernet key.") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (after prepending a new key to FIELD_ENCRYPTION_KEYS)."""
    return fernet().rotate(ciphertext.encode()).decode()


def is_current(ciphertext: str) -> bool:
    """Whether the newest key (the first of FIELD_ENCRYPTION_KEYS) already encrypts this ciphertext."""
    try:
        Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode()).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


def mask(secret: str) -> str:
    """What a UI or log may show of a secret."""
    return f"…{secret[-4:]}" if len(secret) >= 8 else "…"


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext. Empty stays empty."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
