"""The composition root: `create_bff` builds the BFF's ASGI app (Starlette), standalone or mountable.

Routes: GET /bff/login, GET /bff/callback, GET /bff/user, POST /bff/logout, POST /bff/backchannel-logout,
every allow-listed API prefix, then either static files (`static_dir`) or a JSON 404 for any other
path. Errors become JSON here, in one place.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from passportoffice.bff.endpoints.backchannel import backchannel_logout
from passportoffice.bff.endpoints.callback import callback
from passportoffice.bff.endpoints.login import NO_STORE, login
from passportoffice.bff.endpoints.logout import logout
from passportoffice.bff.endpoints.user import user
from passportoffice.bff.errors import BffError
from passportoffice.bff.oidc import ProviderError, ProviderRejected
from passportoffice.bff.proxy import proxy
from passportoffice.bff.runtime import Bff
from passportoffice.bff.settings import BffSettings
from passportoffice.bff.store import BffStore

__all__ = ["create_bff"]

log = logging.getLogger("passportoffice.bff")

# The session store is down or unreachable: a 503 the browser can retry, not a 500.
_STORE_ERRORS: tuple[type[Exception], ...] = (sa.exc.SQLAlchemyError, RedisError, OSError, TimeoutError)
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_bff(
    settings: BffSettings,
    *,
    store: BffStore | None = None,
    clock: Callable[[], float] = time.time,
    static_dir: Path | None = None,
    pages: ASGIApp | None = None,
) -> Starlette:
    """The BFF app. `app.state.bff.aclose()` releases its connections; the app's own lifespan does that
    when it runs standalone (a mounted app's lifespan is not run by Starlette: call it from yours).

    Paths that are neither BFF endpoints nor allow-listed API routes go to `pages` (an ASGI app serving
    the app's own pages) or `static_dir` when given, else get a JSON 404.
    """
    bff = Bff(settings, store=store, clock=clock)

    def bound(endpoint: Callable[..., Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        return functools.partial(endpoint, bff=bff)

    routes: list[BaseRoute] = [
        Route("/bff/login", bound(login), methods=["GET"]),
        Route("/bff/callback", bound(callback), methods=["GET"]),
        Route("/bff/user", bound(user), methods=["GET"]),
        Route("/bff/logout", bound(logout), methods=["POST"]),
        Route("/bff/backchannel-logout", bound(backchannel_logout), methods=["POST"]),
    ]
    for upstream in settings.upstreams:
        routes.append(Route(upstream.prefix, bound(proxy), methods=_ALL_METHODS))
        routes.append(Route(upstream.prefix + "/{path:path}", bound(proxy), methods=_ALL_METHODS))
    if pages is not None or static_dir is not None:
        # The app's own pages on the same origin (an SPA); BFF and API paths were matched above.
        routes.append(Mount("/", app=pages or StaticFiles(directory=static_dir, html=True)))
    else:
        routes.append(Route("/{path:path}", _not_found, methods=_ALL_METHODS))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await bff.aclose()

    app = Starlette(
        routes=routes,
        exception_handlers={
            BffError: _bff_error,
            ProviderRejected: _provider_rejected,
            ProviderError: _provider_error,
            **dict.fromkeys(_STORE_ERRORS, _store_unavailable),
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.state.bff = bff
    return app


def _json_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=NO_STORE)


async def _bff_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BffError)
    return _json_error(exc.status, exc.error, exc.description)


async def _provider_rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProviderRejected)
    log.warning("%s", exc)
    if exc.error == "invalid_grant":  # an expired or reused code: the user can simply log in again
        return _json_error(400, "invalid_request", "the provider refused the authorization code")
    return _json_error(502, "provider_error", "the provider refused the BFF's request")


async def _provider_error(request: Request, exc: Exception) -> Response:
    log.warning("provider unavailable: %s", exc)
    return _json_error(502, "provider_unavailable", "the identity provider could not be reached")


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("session store unavailable: %s", type(exc).__name__)
    response = _json_error(503, "temporarily_unavailable", "the session store is unavailable; try again")
    response.headers["Retry-After"] = "5"
    return response


async def _not_found(request: Request) -> Response:
    """Not an allow-listed API route nor a BFF endpoint: 404, never forwarded."""
    return _json_error(404, "not_found", "no such API route")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error in the BFF", exc_info=exc)
    return _json_error(500, "server_error", "the BFF failed to handle the request")
