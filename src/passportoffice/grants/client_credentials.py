"""Client credentials grant: RFC 6749 §4.4; the access token's `sub` is the client (RFC 9068 §2.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passportoffice.errors import InvalidScope, UnauthorizedClient
from passportoffice.protocol.resources import resolve_audience
from passportoffice.protocol.scopes import allowed_scope, format_scope, parse_scope
from passportoffice.provider.context import Provider
from passportoffice.provider.tokens import mint_access_token
from passportoffice.storage.records import Client

GRANT_TYPE = "client_credentials"

# Scopes about a user make no sense without one.
_USER_SCOPES = frozenset({"openid", "offline_access", "profile", "email"})


async def handle(provider: Provider, client: Client, parameters: Mapping[str, str]) -> dict[str, Any]:
    if client.is_public:
        raise UnauthorizedClient("public clients cannot use client_credentials")
    requested = parse_scope(parameters.get("scope"))
    if _USER_SCOPES.intersection(requested):
        raise InvalidScope("user scopes cannot be requested with client_credentials")
    service_scopes = tuple(scope for scope in client.scopes if scope not in _USER_SCOPES)
    scopes = allowed_scope(requested, service_scopes) if requested else service_scopes
    audience = resolve_audience(parameters.get("resource"), client.audiences, provider.settings.issuer)
    access = mint_access_token(
        provider, subject=client.client_id, client_id=client.client_id, scope=format_scope(scopes), audience=audience
    )
    return {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_at - provider.now(),
        "scope": format_scope(scopes),
    }
