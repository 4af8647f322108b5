"""Token claims: RFC 9068 §2.2 (JWT access tokens), OpenID Connect Core §2, §3.1.3.6 (ID token, at_hash), §5.4."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

ACCESS_TOKEN_TYP = "at+jwt"


def audience_claim(audience: tuple[str, ...]) -> str | list[str]:
    return audience[0] if len(audience) == 1 else list(audience)


def access_token_claims(
    *,
    issuer: str,
    subject: str,
    audience: tuple[str, ...],
    client_id: str,
    scope: str,
    issued_at: int,
    lifetime: int,
    jti: str,
    auth_time: int | None = None,
    sid: str | None = None,
    grant_id: str | None = None,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience_claim(audience),
        "exp": issued_at + lifetime,
        "iat": issued_at,
        "nbf": issued_at,
        "jti": jti,
        "client_id": client_id,
        "scope": scope,
    }
    if auth_time is not None:
        claims["auth_time"] = auth_time
    if sid is not None:
        claims["sid"] = sid
    if grant_id is not None:
        # Lets userinfo and introspection see that the grant was revoked (code reuse, logout, reuse
        # detection) before the token's exp.
        claims["grant_id"] = grant_id
    return claims


def at_hash(access_token: str) -> str:
    """Left half of the SHA-256 of the token (both RS256 and ES256 use SHA-256), base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def id_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    issued_at: int,
    lifetime: int,
    auth_time: int,
    sid: str,
    amr: Iterable[str],
    nonce: str | None,
    access_token: str | None,
    profile: dict[str, Any],
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "exp": issued_at + lifetime,
        "iat": issued_at,
        "auth_time": auth_time,
        "sid": sid,
        "amr": list(amr),
        **profile,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["at_hash"] = at_hash(access_token)
    return claims


def profile_claims(
    scopes: Iterable[str], *, username: str, name: str | None, email: str | None, email_verified: bool
) -> dict[str, Any]:
    """Standard claims released by scope (OpenID Connect Core §5.4)."""
    granted = set(scopes)
    claims: dict[str, Any] = {}
    if "profile" in granted:
        claims["preferred_username"] = username
        if name:
            claims["name"] = name
    if "email" in granted and email:
        claims["email"] = email
        claims["email_verified"] = email_verified
    return claims


BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYP = "logout+jwt"  # Back-Channel Logout 1.0 §2.4, §4.1 (explicit typing against confusion)


def logout_token_claims(
    *, issuer: str, client_id: str, subject: str, sid: str | None, issued_at: int, lifetime: int, jti: str
) -> dict[str, Any]:
    """Back-Channel Logout 1.0 §2.4: `sub` and/or `sid`, the logout event, and never a `nonce`."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "jti": jti,
        "sub": subject,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    if sid is not None:
        claims["sid"] = sid
    return claims
