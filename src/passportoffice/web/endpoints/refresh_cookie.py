"""Refresh-cookie endpoint, `POST /token/refresh`: RFC 6749 §6 with the refresh token in an HttpOnly cookie.

The refresh itself is the refresh_token grant (`grants.refresh_token`: rotation, reuse detection, the
reuse window, idle and absolute lifetimes, family revocation); this module only moves the token
between the cookie and the grant. CSRF (K37): the request must carry `X-Requested-With: passportoffice`
and an `Origin` the client registered, or it gets 403 `access_denied` before anything is read or
rotated. CORS with credentials answers only that client's registered origins, computed after the
client is identified (K35). Any `invalid_grant` clears the cookie, so a dead one is not sent forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.errors import AccessDenied, InvalidGrant, OAuthError, UnauthorizedClient
from passportoffice.grants import refresh_token
from passportoffice.provider.client_auth import authenticate_client
from passportoffice.provider.context import Provider
from passportoffice.provider.refresh_cookies import (
    REQUESTED_WITH_HEADER,
    cookie_lifetime,
    require_custom_header,
    require_registered_origin,
    without_refresh_token,
)
from passportoffice.storage.records import Client
from passportoffice.web.cookies import clear_refresh_cookie, refresh_cookie, set_refresh_cookie
from passportoffice.web.cors import with_cors
from passportoffice.web.errors import NO_STORE, json_error
from passportoffice.web.requests import read_parameters

__all__ = ["PATH", "cookie_token_response", "refresh"]

PATH = "/token/refresh"
# What the refresh grant may take from the request; the token itself comes only from the cookie.
_GRANT_PARAMETERS = ("scope", "resource")


async def refresh(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    client: Client | None = None
    try:
        # Checked before the body is read: a request a form or a foreign page could send spends nothing.
        require_custom_header(request.headers.get(REQUESTED_WITH_HEADER))
        origin = request.headers.get("origin")
        if not origin:
            raise AccessDenied("this request must come from an origin registered by the client")
        parameters = await read_parameters(request, provider.settings.max_body_bytes)
        client = await authenticate_client(
            provider, request.headers.get("authorization"), parameters, provider.settings.issuer + PATH
        )
        if not client.refresh_cookie or "refresh_token" not in client.grant_types:
            raise UnauthorizedClient("this client does not use a refresh cookie")
        require_registered_origin(client.origins, origin)
        response = await _refresh(provider, client, request, parameters)
    except InvalidGrant as exc:
        response = json_error(exc)
        if client is not None:
            clear_refresh_cookie(response, client.client_id)
    except OAuthError as exc:
        response = json_error(exc)
    if client is None or not client.refresh_cookie:
        return with_cors(request, response, ())
    return with_cors(request, response, client.origins, credentials=True)


async def _refresh(provider: Provider, client: Client, request: Request, parameters: Mapping[str, str]) -> Response:
    presented = refresh_cookie(request, client.client_id)
    if presented is None:
        raise InvalidGrant("there is no refresh cookie: sign in again")
    grant_parameters = {name: parameters[name] for name in _GRANT_PARAMETERS if name in parameters}
    body = await refresh_token.handle(provider, client, {**grant_parameters, "refresh_token": presented})
    return await cookie_token_response(provider, client, body)


async def cookie_token_response(provider: Provider, client: Client, body: Mapping[str, Any]) -> Response:
    """A token response for a refresh-cookie client: the refresh token moves from the body into the cookie."""
    public_body, token = without_refresh_token(body)
    response = JSONResponse(public_body, headers=NO_STORE)
    if token is not None:
        set_refresh_cookie(response, client.client_id, token, await cookie_lifetime(provider, token))
    return response
