"""Token revocation: RFC 7009 §2. Refresh tokens revoke their whole grant; access tokens their jti.

An invalid or unknown token is answered with 200 (§2.2): revocation must not become a token oracle.
A refresh-cookie client (issue 4) cannot name its refresh token, which scripts never see: when its
request carries its refresh cookie, that cookie's family is revoked and the cookie cleared too (with
`token` its access token). That use of the cookie needs the custom header and a registered Origin
(K37), and the response then allows credentials for that origin.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.errors import InvalidRequest, InvalidToken, OAuthError, UnauthorizedClient
from passportoffice.provider.client_auth import authenticate_client
from passportoffice.provider.context import Provider
from passportoffice.provider.own_tokens import MAX_TOKEN_LENGTH, validate_access_token
from passportoffice.provider.refresh_cookies import (
    REQUESTED_WITH_HEADER,
    require_custom_header,
    require_registered_origin,
    revoke_cookie_family,
)
from passportoffice.web.cookies import clear_refresh_cookie, refresh_cookie
from passportoffice.web.cors import with_cors
from passportoffice.web.errors import NO_STORE, json_error
from passportoffice.web.requests import read_parameters


async def revoke(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    origins: tuple[str, ...] = ()
    credentials = False
    cookie_client: str | None = None
    try:
        # An oversized token is one we never issued: after client authentication it is answered as
        # inactive / revoked (RFC 7662 §2.2, RFC 7009 §2.2), not 413. The body cap still bounds it (K40).
        limit = provider.settings.max_body_bytes
        parameters = await read_parameters(request, limit, max_value_length=limit)
        client = await authenticate_client(
            provider, request.headers.get("authorization"), parameters, provider.settings.issuer + "/revoke"
        )
        origins, credentials = client.origins, client.refresh_cookie
        token = parameters.get("token")
        if not token:
            raise InvalidRequest("token is required")
        cookie = refresh_cookie(request, client.client_id) if client.refresh_cookie else None
        if cookie is not None:
            require_custom_header(request.headers.get(REQUESTED_WITH_HEADER))
            require_registered_origin(client.origins, request.headers.get("origin"))
            await revoke_cookie_family(provider, client.client_id, cookie)
            cookie_client = client.client_id
        if len(token) <= MAX_TOKEN_LENGTH:
            await _revoke(provider, client.client_id, token)
        response = Response(status_code=200, headers=NO_STORE)
    except OAuthError as exc:
        response = json_error(exc)
    if cookie_client is not None:
        clear_refresh_cookie(response, cookie_client)
    return with_cors(request, response, origins, credentials=credentials)


async def _revoke(provider: Provider, client_id: str, token: str) -> None:
    # token_type_hint is not consulted: a wrong hint must not leave a token alive (RFC 7009 §2.1), and
    # looking for a refresh token first costs one indexed read.
    now = provider.now()
    state = await provider.storage.get_refresh_token(provider.hash(token))
    if state is not None:
        if state.grant.client_id != client_id:
            raise UnauthorizedClient("the token was issued to another client")
        await provider.storage.revoke_grant(state.grant.id, now)
        return
    try:
        claims = await validate_access_token(provider, token)
    except InvalidToken:
        return
    if claims.get("client_id") != client_id:
        raise UnauthorizedClient("the token was issued to another client")
    await provider.storage.revoke_access_token(str(claims["jti"]), int(claims["exp"]))
