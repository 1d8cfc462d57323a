"""High-entropy tokens: generated with `secrets`, stored only as HMAC-SHA256 with a server-side pepper."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings

HASH_VERSION = 1


@dataclass(frozen=True)
class IssuedToken:
    plaintext: str  # shown to the user once, never stored
    digest: str
    last_chars: str


def token_hash(plaintext: str) -> str:
    pepper = settings.TOKEN_HASH_PEPPER.encode()
    return hmac.new(pepper, plaintext.encode(), hashlib.sha256).hexdigest()


def token_issue(prefix: str, nbytes: int = 32) -> IssuedToken:
    plaintext = f"{prefix}{secrets.token_urlsafe(nbytes)}"
    return IssuedToken(plaintext=plaintext, digest=token_hash(plaintext), last_chars=plaintext[-4:])


def token_matches(plaintext: str, digest: str) -> bool:
    return hmac.compare_digest(token_hash(plaintext), digest)
