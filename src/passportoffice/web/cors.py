"""CORS (Fetch standard) for the endpoints a browser app calls directly: token, userinfo, revocation.

Only origins registered by clients are ever allowed; an actual response names the origin only if
the authenticated client registered it (K35). Credentials are allowed only for refresh-cookie clients,
whose token responses set the refresh cookie, and only for their own origins; the authorization
endpoint never gets CORS at all (it is a navigation, not a fetch).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.provider.context import Provider

_PREFLIGHT_MAX_AGE = "600"
# Registered origins are read at most this often for preflights (any instance may add a client).
_ORIGINS_TTL = 30


def with_cors(
    request: Request, response: Response, allowed: tuple[str, ...], *, credentials: bool = False
) -> Response:
    """`allowed` and `credentials` come from the identified client, never from the request (K35)."""
    origin = request.headers.get("origin")
    response.headers.append("Vary", "Origin")
    if origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        if credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


async def preflight(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    origin = request.headers.get("origin")
    response = Response(status_code=204, headers={"Vary": "Origin"})
    origins = await registered_origins(request, provider)
    if origin and origin in origins.any_client:
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
            }
        )
        if origin in origins.refresh_cookie:
            # A refresh-cookie SPA exchanges its code with credentials and the custom header, and the
            # response sets its cookie; the actual response still decides per client (K35).
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Requested-With"
            response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


async def refresh_preflight(request: Request) -> Response:
    """The refresh endpoint's preflight: only origins of refresh-cookie clients, POST with the custom header."""
    provider: Provider = request.app.state.provider
    origin = request.headers.get("origin")
    response = Response(status_code=204, headers={"Vary": "Origin"})
    if origin and origin in (await registered_origins(request, provider)).refresh_cookie:
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type, X-Requested-With",
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
            }
        )
    return response


@dataclass(frozen=True, slots=True)
class RegisteredOrigins:
    any_client: frozenset[str]
    refresh_cookie: frozenset[str]


async def registered_origins(request: Request, provider: Provider) -> RegisteredOrigins:
    state = request.app.state
    now = provider.now()
    cached: tuple[int, RegisteredOrigins] | None = getattr(state, "cors_origins", None)
    if cached is None or now - cached[0] >= _ORIGINS_TTL:
        clients = await provider.storage.list_clients()
        origins = RegisteredOrigins(
            any_client=frozenset(origin for client in clients for origin in client.origins),
            refresh_cookie=frozenset(
                origin for client in clients if client.refresh_cookie for origin in client.origins
            ),
        )
        cached = (now, origins)
        state.cors_origins = cached
    return cached[1]
