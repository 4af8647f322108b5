"""FastAPI: a dependency that authenticates the request's bearer token and requires scopes (RFC 6750).

    bearer = BearerAuth(TokenVerifier("https://idp.example", "https://api.example"))

    @app.get("/notes")
    async def notes(token: VerifiedToken = Depends(bearer.require_scopes("notes:read"))) -> ...:

`Depends(bearer)` requires a valid token and no particular scope. Errors are raised as HTTPException
with the RFC 6750 status and `WWW-Authenticate` challenge, so no exception handler is needed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer

from passportoffice import errors
from passportoffice.guard import bearer
from passportoffice.guard.claims import VerifiedToken
from passportoffice.guard.verifying import Verifier

# Only so that the OpenAPI document declares bearer authentication; the token is read by `bearer`.
_DeclaresBearer = Annotated[Any, Depends(HTTPBearer(auto_error=False))]


class BearerAuth:
    def __init__(self, verifier: Verifier, *, realm: str | None = None) -> None:
        self.verifier = verifier
        self.realm = realm

    async def __call__(self, request: Request, _: _DeclaresBearer = None) -> VerifiedToken:
        return await self._authenticate(request, ())

    def require_scopes(self, *scopes: str) -> Callable[..., Awaitable[VerifiedToken]]:
        async def dependency(request: Request, _: _DeclaresBearer = None) -> VerifiedToken:
            return await self._authenticate(request, scopes)

        return dependency

    async def _authenticate(self, request: Request, scopes: tuple[str, ...]) -> VerifiedToken:
        try:
            token = bearer.bearer_token(request.headers.getlist("authorization"))
            return await self.verifier.verify(token, scopes)
        except errors.OAuthError as exc:
            rendered = bearer.error_response(exc, self.realm)
            raise HTTPException(rendered.status_code, detail=rendered.body, headers=rendered.headers) from None
