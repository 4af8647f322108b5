"""CORS (Fetch standard) for the endpoints a browser app calls directly: token, userinfo, revocation.

Only origins registered by clients are ever allowed; an actual response names the origin only if
the authenticated client registered it (K35). Credentials are never allowed here, and the
authorization endpoint never gets CORS at all (it is a navigation, not a fetch).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.provider.context import Provider

_PREFLIGHT_MAX_AGE = "600"
# Registered origins are read at most this often for preflights (any instance may add a client).
_ORIGINS_TTL = 30


def with_cors(request: Request, response: Response, allowed: tuple[str, ...]) -> Response:
    origin = request.headers.get("origin")
    response.headers.append("Vary", "Origin")
    if origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


async def preflight(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    origin = request.headers.get("origin")
    response = Response(status_code=204, headers={"Vary": "Origin"})
    if origin and origin in await registered_origins(request, provider):
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
            }
        )
    return response


async def registered_origins(request: Request, provider: Provider) -> frozenset[str]:
    state = request.app.state
    now = provider.now()
    cached: tuple[int, frozenset[str]] | None = getattr(state, "cors_origins", None)
    if cached is None or now - cached[0] >= _ORIGINS_TTL:
        clients = await provider.storage.list_clients()
        cached = (now, frozenset(origin for client in clients for origin in client.origins))
        state.cors_origins = cached
    return cached[1]
