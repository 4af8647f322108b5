"""UserInfo endpoint (GET and POST): OIDC Core §5.3, bearer token per RFC 6750 §2.1, errors per §3."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from passportoffice.protocol.claims import profile_claims
from passportoffice.provider.context import Provider
from passportoffice.provider.own_tokens import validate_access_token
from passportoffice.web.cors import with_cors
from passportoffice.web.errors import NO_STORE, bearer_challenge, json_error


async def userinfo(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    origins: tuple[str, ...] = ()
    try:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            response: Response = Response(
                status_code=401, headers={"WWW-Authenticate": bearer_challenge(None), **NO_STORE}
            )
            return with_cors(request, response, ())
        claims = await validate_access_token(provider, token)
        origins = await _origins_for(provider, str(claims.get("client_id", "")))
        scopes = str(claims.get("scope", "")).split()
        if "openid" not in scopes:
            raise InsufficientScope("the openid scope is required", scope="openid")
        user = await provider.storage.get_user(str(claims["sub"]))
        if user is None or user.disabled:
            raise InvalidToken("the access token was revoked")
        body = {"sub": user.id}
        body.update(
            profile_claims(
                scopes, username=user.username, name=user.name, email=user.email, email_verified=user.email_verified
            )
        )
        response = JSONResponse(body, headers=NO_STORE)
    except OAuthError as exc:
        response = json_error(exc, bearer=True)
    return with_cors(request, response, origins)


def bearer_token(authorization: str | None) -> str | None:
    """The token from `Authorization: Bearer ...` (RFC 6750 §2.1); None when there is no header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise InvalidRequest("malformed Authorization header")
    return token.strip()


async def _origins_for(provider: Provider, client_id: str | None) -> tuple[str, ...]:
    client = await provider.storage.get_client(client_id) if client_id else None
    return client.origins if client else ()
