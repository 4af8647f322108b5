"""Minting signed tokens: RFC 9068 access tokens and OpenID Connect ID tokens (RFC 7515 JWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from passportoffice.protocol import claims as claim_rules
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.storage.records import Client, User


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    jti: str
    expires_at: int


def sign(provider: Provider, claims: dict[str, Any], alg: str, typ: str) -> str:
    key = provider.keyring.signing_key(alg, claims["iat"])
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})


def mint_access_token(
    provider: Provider,
    *,
    subject: str,
    client_id: str,
    scope: str,
    audience: tuple[str, ...],
    auth_time: int | None = None,
    sid: str | None = None,
    grant_id: str | None = None,
) -> AccessToken:
    now = provider.now()
    jti = new_token(16)
    claims = claim_rules.access_token_claims(
        issuer=provider.settings.issuer,
        subject=subject,
        audience=audience,
        client_id=client_id,
        scope=scope,
        issued_at=now,
        lifetime=provider.settings.access_token_ttl,
        jti=jti,
        auth_time=auth_time,
        sid=sid,
        grant_id=grant_id,
    )
    token = sign(provider, claims, provider.settings.access_token_signing_alg, claim_rules.ACCESS_TOKEN_TYP)
    return AccessToken(token=token, jti=jti, expires_at=claims["exp"])


def mint_id_token(
    provider: Provider,
    *,
    user: User,
    client: Client,
    scopes: tuple[str, ...],
    auth_time: int,
    sid: str,
    amr: tuple[str, ...],
    nonce: str | None,
    access_token: str | None,
) -> str:
    profile = claim_rules.profile_claims(
        scopes, username=user.username, name=user.name, email=user.email, email_verified=user.email_verified
    )
    claims = claim_rules.id_token_claims(
        issuer=provider.settings.issuer,
        subject=user.id,
        client_id=client.client_id,
        issued_at=provider.now(),
        lifetime=provider.settings.id_token_ttl,
        auth_time=auth_time,
        sid=sid,
        amr=amr,
        nonce=nonce,
        access_token=access_token,
        profile=profile,
    )
    return sign(provider, claims, client.id_token_signed_response_alg, "JWT")
