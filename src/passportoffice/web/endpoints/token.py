"""Token endpoint: RFC 6749 §3.2, §5.1-§5.2; grants in `passportoffice.grants`; client auth per §2.3.

CORS answers only the authenticated client's registered origins, computed after authentication (K35).
A refresh-cookie client (issue 4) gets its refresh token as a cookie instead of in the body, so its
requests pass the same CSRF check as the refresh endpoint, and its refreshes happen there, not here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.errors import InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedGrantType
from passportoffice.grants import GRANTS
from passportoffice.provider.client_auth import authenticate_client
from passportoffice.provider.context import Provider
from passportoffice.provider.refresh_cookies import (
    REQUESTED_WITH_HEADER,
    require_custom_header,
    require_registered_origin,
)
from passportoffice.web.cors import with_cors
from passportoffice.web.endpoints.refresh_cookie import cookie_token_response
from passportoffice.web.errors import NO_STORE, json_error
from passportoffice.web.requests import read_parameters


async def token(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    origins: tuple[str, ...] = ()
    credentials = False
    try:
        parameters = await read_parameters(request, provider.settings.max_body_bytes)
        grant_type = parameters.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        client = await authenticate_client(
            provider, request.headers.get("authorization"), parameters, provider.settings.issuer + "/token"
        )
        origins, credentials = client.origins, client.refresh_cookie
        if client.refresh_cookie:
            _check_refresh_cookie_request(request, client.origins, grant_type)
        if grant_type not in GRANTS:
            raise UnsupportedGrantType("unsupported grant_type")
        if grant_type not in client.grant_types:
            raise UnauthorizedClient("this client may not use " + grant_type)
        # Unrecognised parameters are ignored (RFC 6749 §3.2).
        body = await GRANTS[grant_type](provider, client, parameters)
        if client.refresh_cookie:
            response: Response = await cookie_token_response(provider, client, body)
        else:
            response = JSONResponse(body, headers=NO_STORE)
    except OAuthError as exc:
        response = json_error(exc)
    return with_cors(request, response, origins, credentials=credentials)


def _check_refresh_cookie_request(request: Request, origins: tuple[str, ...], grant_type: str) -> None:
    # The response sets a cookie in the browser: a form on a sibling subdomain must not plant one (K37).
    require_custom_header(request.headers.get(REQUESTED_WITH_HEADER))
    require_registered_origin(origins, request.headers.get("origin"))
    if grant_type == "refresh_token":
        # Its refresh token is never shown to scripts, so it is never sent in a body either.
        raise UnauthorizedClient("this client refreshes through its cookie at /token/refresh")
