"""Starlette: bearer authentication as ASGI middleware, or per endpoint (RFC 6750 §2.1, §3).

    app = Starlette(routes=..., middleware=[Middleware(BearerAuthMiddleware, verifier=verifier)])
    # in an endpoint: request.state.verified_token

    token = await authenticate(request, verifier, scopes=("notes:write",))  # per endpoint instead
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from passportoffice import errors
from passportoffice.guard import bearer
from passportoffice.guard.claims import VerifiedToken
from passportoffice.guard.verifying import Scopes, Verifier

STATE_KEY = "verified_token"


async def authenticate(connection: HTTPConnection, verifier: Verifier, scopes: Scopes = ()) -> VerifiedToken:
    """The request's verified token; the guard's errors otherwise (render them with `error_response`)."""
    token = bearer.bearer_token(connection.headers.getlist("authorization"))
    return await verifier.verify(token, scopes)


def error_response(exc: errors.OAuthError, realm: str | None = None) -> Response:
    rendered = bearer.error_response(exc, realm)
    return JSONResponse(rendered.body, status_code=rendered.status_code, headers=rendered.headers)


class BearerAuthMiddleware:
    """Every HTTP request and WebSocket must carry a valid token with `scopes`, except on `exempt_paths`
    (exact paths, relative to the app this middleware wraps, so also right inside a Mount).

    Put it inside CORSMiddleware, so that preflight requests (which carry no credentials) are answered.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: Verifier,
        *,
        scopes: Scopes = (),
        realm: str | None = None,
        exempt_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.scopes = scopes
        self.realm = realm
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _app_path(scope) in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        try:
            token = await authenticate(HTTPConnection(scope), self.verifier, self.scopes)
        except errors.OAuthError as exc:
            if scope["type"] == "websocket":
                await WebSocketClose(code=1008)(scope, receive, send)  # RFC 6455 §7.4.1: policy violation
            else:
                await error_response(exc, self.realm)(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = token
        await self.app(scope, receive, send)


def _app_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
