"""Validating tokens this provider issued, when they come back: access tokens at userinfo and
introspection (RFC 9068 §4, RFC 7662 §2.2) and ID tokens as logout hints (OIDC RP-Initiated Logout §2).

The key is chosen by `kid` from our own key set and its algorithm comes from that key, never from
the token header. Size is checked before anything is decoded (K40).
"""

from __future__ import annotations

from typing import Any

import jwt

from passportoffice.errors import InvalidToken
from passportoffice.protocol.claims import ACCESS_TOKEN_TYP
from passportoffice.provider.context import Provider

MAX_TOKEN_LENGTH = 16384


async def validate_access_token(provider: Provider, token: str) -> dict[str, Any]:
    """The claims of a live access token we issued; InvalidToken for anything else."""
    claims = _verify(provider, token, typ=ACCESS_TOKEN_TYP, verify_exp=True)
    storage = provider.storage
    if await storage.is_access_token_revoked(str(claims.get("jti", ""))):
        raise InvalidToken("the access token was revoked")
    grant_id = claims.get("grant_id")
    if grant_id is not None:
        grant = await storage.get_grant(str(grant_id))
        if grant is None or grant.revoked_at is not None:
            raise InvalidToken("the access token was revoked")
        user = await storage.get_user(grant.user_id)
        if user is None or user.disabled:
            raise InvalidToken("the access token was revoked")
    return claims


def validate_id_token_hint(provider: Provider, token: str) -> dict[str, Any]:
    """An ID token we issued, expired or not (a logout hint may be old)."""
    return _verify(provider, token, typ="JWT", verify_exp=False)


def _verify(provider: Provider, token: str, *, typ: str, verify_exp: bool) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidToken("the token is malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is malformed") from exc
    if header.get("typ") != typ:
        raise InvalidToken("the token has the wrong type")
    kid = header.get("kid")
    key = provider.keyring.verification_key(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("the token was not signed by this provider")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.alg],
            issuer=provider.settings.issuer,
            # Times are checked below against the provider's clock, not the library's.
            options={
                "verify_aud": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "sub", "iat", "exp"],
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is invalid") from exc
    expires_at = claims["exp"]
    if not isinstance(expires_at, int) or (verify_exp and expires_at <= provider.now()):
        raise InvalidToken("the token has expired")
    return claims
