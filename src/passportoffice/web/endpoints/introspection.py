"""Token introspection: RFC 7662 §2. Anything not live is `{"active": false}` and nothing else (K45).

Only confidential clients may introspect (a resource server is one). Refresh tokens are described
only to the client they were issued to.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.errors import InvalidClient, InvalidRequest, InvalidToken, OAuthError
from passportoffice.provider.client_auth import authenticate_client
from passportoffice.provider.context import Provider
from passportoffice.provider.own_tokens import MAX_TOKEN_LENGTH, validate_access_token
from passportoffice.storage.records import Client
from passportoffice.web.errors import NO_STORE, json_error
from passportoffice.web.requests import read_parameters

INACTIVE: dict[str, Any] = {"active": False}
_ACCESS_TOKEN_FIELDS = ("scope", "client_id", "sub", "exp", "iat", "nbf", "iss", "aud", "jti", "sid")


async def introspect(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    try:
        # An oversized token is one we never issued: after client authentication it is answered as
        # inactive / revoked (RFC 7662 §2.2, RFC 7009 §2.2), not 413. The body cap still bounds it (K40).
        limit = provider.settings.max_body_bytes
        parameters = await read_parameters(request, limit, max_value_length=limit)
        client = await authenticate_client(
            provider, request.headers.get("authorization"), parameters, provider.settings.issuer + "/introspect"
        )
        if client.is_public:
            raise InvalidClient("public clients cannot introspect tokens")
        token = parameters.get("token")
        if not token:
            raise InvalidRequest("token is required")
        body = await _describe(provider, client, token) if len(token) <= MAX_TOKEN_LENGTH else INACTIVE
        return JSONResponse(body, headers=NO_STORE)
    except OAuthError as exc:
        return json_error(exc)


async def _describe(provider: Provider, client: Client, token: str) -> dict[str, Any]:
    if token.count(".") == 2:
        try:
            claims = await validate_access_token(provider, token)
        except InvalidToken:
            return INACTIVE
        body: dict[str, Any] = {"active": True, "token_type": "Bearer"}
        body.update({name: claims[name] for name in _ACCESS_TOKEN_FIELDS if name in claims})
        return body
    state = await provider.storage.get_refresh_token(provider.hash(token))
    now = provider.now()
    if (
        state is None
        or state.grant.client_id != client.client_id
        or state.token.rotated_at is not None
        or state.grant.revoked_at is not None
        or min(state.token.expires_at, state.grant.expires_at) <= now
    ):
        return INACTIVE
    if not state.grant.offline:
        # As at the refresh grant: without offline_access the family ends with its IdP session.
        session = await provider.storage.get_session_by_sid(state.grant.sid)
        if session is None or session.ended_at is not None or session.expires_at <= now:
            return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": state.grant.scope,
        "client_id": state.grant.client_id,
        "sub": state.grant.user_id,
        "exp": min(state.token.expires_at, state.grant.expires_at),
        "iat": state.token.created_at,
        "iss": provider.settings.issuer,
    }
