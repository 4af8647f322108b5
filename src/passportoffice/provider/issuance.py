"""Issuing the token response for a user's grant (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3, §12.2)."""

from __future__ import annotations

from typing import Any

from passportoffice.protocol.scopes import format_scope
from passportoffice.provider.context import Provider
from passportoffice.provider.tokens import mint_access_token, mint_id_token
from passportoffice.storage.records import Client, Grant, User


def token_response(
    provider: Provider,
    *,
    client: Client,
    user: User,
    grant: Grant,
    scopes: tuple[str, ...],
    refresh_token: str | None,
    nonce: str | None = None,
) -> dict[str, Any]:
    scope = format_scope(scopes)
    access = mint_access_token(
        provider,
        subject=user.id,
        client_id=client.client_id,
        scope=scope,
        audience=grant.audience,
        auth_time=grant.auth_time,
        sid=grant.sid,
        grant_id=grant.id,
    )
    response: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_at - provider.now(),
        "scope": scope,
    }
    if refresh_token is not None:
        response["refresh_token"] = refresh_token
    if "openid" in scopes:
        response["id_token"] = mint_id_token(
            provider,
            user=user,
            client=client,
            scopes=scopes,
            auth_time=grant.auth_time,
            sid=grant.sid,
            amr=grant.amr,
            nonce=nonce,
            access_token=access.token,
        )
    return response


def client_may_refresh(client: Client) -> bool:
    return "refresh_token" in client.grant_types
