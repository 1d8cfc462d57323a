"""Visitor tokens (issued by Docent) and identity tokens (signed by the customer's backend), both JWTs read
with PyJWT. See docs/adr/0060-widget-visitor-tokens.md.

A visitor token is what the widget presents on every call after opening a session: HS256, signed with a key
derived from SECRET_KEY for this purpose only, valid WIDGET_VISITOR_TOKEN_SECONDS, and bound to the bot, the
bot's current publishable key (rotating the key ends every token), the page origin and the visitor. It is a
bearer token by design (short-lived, origin-bound, never stored by Docent).

An identity token is the customer's word that its signed-in user is `sub`: HS256 with the bot's identity
secret, with `exp` and `iat`, at most WIDGET_IDENTITY_MAX_SECONDS long; an optional `jti` makes it single-use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache

from apps.widget.errors import InvalidIdentity, InvalidVisitorToken, VisitorTokenExpired

ALGORITHM = "HS256"
ISSUER = "docent-widget"
LEEWAY_SECONDS = 30  # clock skew between the customer's servers and ours


def _visitor_signing_key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"docent.widget.visitor-token.v1", hashlib.sha256).digest()


def key_tag(publishable_key: str) -> str:
    """A short fingerprint of the bot's publishable key: tokens made under an older key no longer match."""
    return hashlib.sha256(publishable_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class VisitorClaims:
    bot_id: str
    organization_id: str
    visitor_id: str
    origin: str
    key_tag: str
    verified: bool
    expires_at: int


def visitor_token_issue(
    *, bot_id: Any, organization_id: Any, visitor_id: str, origin: str, publishable_key: str, verified: bool
) -> tuple[str, int]:
    """(token, seconds it lives)."""
    lifetime = int(settings.WIDGET_VISITOR_TOKEN_SECONDS)
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": f"bot:{bot_id}",
        "sub": visitor_id,
        "org": str(organization_id),
        "ori": origin,
        "kt": key_tag(publishable_key),
        "vfd": verified,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(9),
    }
    return jwt.encode(claims, _visitor_signing_key(), algorithm=ALGORITHM), lifetime


def visitor_token_read(token: str) -> VisitorClaims:
    """The claims of a genuine, unexpired visitor token; 401 invalid_visitor_token / visitor_token_expired."""
    if not token or len(token) > 2000:
        raise InvalidVisitorToken()
    try:
        claims = jwt.decode(
            token,
            _visitor_signing_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise VisitorTokenExpired() from None
    except jwt.PyJWTError:
        raise InvalidVisitorToken() from None
    audience = claims.get("aud")
    if not isinstance(audience, str) or not audience.startswith("bot:"):
        raise InvalidVisitorToken()
    return VisitorClaims(
        bot_id=audience.removeprefix("bot:"),
        organization_id=str(claims.get("org", "")),
        visitor_id=str(claims["sub"]),
        origin=str(claims.get("ori", "")),
        key_tag=str(claims.get("kt", "")),
        verified=bool(claims.get("vfd", False)),
        expires_at=int(claims["exp"]),
    )


@dataclass(frozen=True)
class IdentityClaims:
    external_id: str
    name: str
    email: str


def _claim_text(claims: dict[str, Any], name: str, limit: int) -> str:
    value = claims.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def identity_verify(*, token: str, secret: str, bot_id: Any, publishable_key: str) -> IdentityClaims:
    """The customer-signed identity in `token`, or 401 invalid_identity (forged, expired, too long-lived, for
    another bot, or a single-use token seen before)."""
    if not secret:
        raise InvalidIdentity("This bot has no identity secret yet; the site cannot sign identities.")
    if not isinstance(token, str) or len(token) > 4000:
        raise InvalidIdentity()
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iat"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidIdentity("The visitor's identity token has expired; sign a fresh one.") from None
    except jwt.PyJWTError:
        raise InvalidIdentity() from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
        raise InvalidIdentity("The identity token's `sub` must name the user (at most 200 characters).")
    now = time.time()
    max_seconds = int(settings.WIDGET_IDENTITY_MAX_SECONDS)
    issued, expires = claims["iat"], claims["exp"]
    if not isinstance(issued, int | float) or issued > now + LEEWAY_SECONDS or expires - issued > max_seconds:
        raise InvalidIdentity(f"Identity tokens live at most {max_seconds} seconds (`exp` - `iat`).")
    audience = claims.get("aud")
    if audience is not None and audience != publishable_key:
        raise InvalidIdentity("This identity token was signed for another bot.")
    jti = claims.get("jti")
    if jti is not None:
        ttl = max(1, int(expires - now) + LEEWAY_SECONDS)
        if not isinstance(jti, str) or not cache.add(f"widget:identity-jti:{bot_id}:{jti[:100]}", 1, timeout=ttl):
            raise InvalidIdentity("This identity token was already used.")
    return IdentityClaims(
        external_id=subject.strip(), name=_claim_text(claims, "name", 200), email=_claim_text(claims, "email", 254)
    )
