"""JWK Set endpoint (RFC 7517 §5; OIDC Discovery §3 `jwks_uri`): public keys only, each with its kid."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.provider.context import Provider


async def jwks(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    await provider.keyring.refresh_if_stale(provider.now())
    return JSONResponse(
        provider.keyring.jwks(),
        media_type="application/jwk-set+json",
        headers={
            "Cache-Control": f"public, max-age={provider.settings.jwks_max_age}",
            "Access-Control-Allow-Origin": "*",
        },
    )
