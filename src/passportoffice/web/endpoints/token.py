"""Token endpoint: RFC 6749 §3.2, §5.1-§5.2; grants in `passportoffice.grants`; client auth per §2.3.

CORS answers only the authenticated client's registered origins, computed after authentication (K35).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.errors import InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedGrantType
from passportoffice.grants import GRANTS
from passportoffice.provider.client_auth import authenticate_client
from passportoffice.provider.context import Provider
from passportoffice.web.cors import with_cors
from passportoffice.web.errors import NO_STORE, json_error
from passportoffice.web.requests import read_parameters


async def token(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    origins: tuple[str, ...] = ()
    try:
        parameters = await read_parameters(request, provider.settings.max_body_bytes)
        grant_type = parameters.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        client = await authenticate_client(
            provider, request.headers.get("authorization"), parameters, provider.settings.issuer + "/token"
        )
        origins = client.origins
        if grant_type not in GRANTS:
            raise UnsupportedGrantType("unsupported grant_type")
        if grant_type not in client.grant_types:
            raise UnauthorizedClient("this client may not use " + grant_type)
        # Unrecognised parameters are ignored (RFC 6749 §3.2).
        body = await GRANTS[grant_type](provider, client, parameters)
        response: Response = JSONResponse(body, headers=NO_STORE)
    except OAuthError as exc:
        response = json_error(exc)
    return with_cors(request, response, origins)
