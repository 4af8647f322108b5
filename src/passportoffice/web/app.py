"""The composition root: builds the provider's ASGI app from a `Provider` it is handed."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from passportoffice.errors import OAuthError
from passportoffice.provider.context import Provider
from passportoffice.provider.keyring import RELOAD_INTERVAL
from passportoffice.web.cors import preflight, refresh_preflight
from passportoffice.web.endpoints import refresh_cookie
from passportoffice.web.endpoints.authorize import authorize
from passportoffice.web.endpoints.consent import consent
from passportoffice.web.endpoints.discovery import openid_configuration
from passportoffice.web.endpoints.end_session import end_session
from passportoffice.web.endpoints.health import healthz, readyz
from passportoffice.web.endpoints.introspection import introspect
from passportoffice.web.endpoints.jwks import jwks
from passportoffice.web.endpoints.login import login
from passportoffice.web.endpoints.revocation import revoke
from passportoffice.web.endpoints.token import token
from passportoffice.web.endpoints.userinfo import userinfo
from passportoffice.web.errors import (
    UNAVAILABLE_ERRORS,
    oauth_error_handler,
    unavailable_error_handler,
    unexpected_error_handler,
)
from passportoffice.web.middleware import BaselineHeaders

__all__ = ["clean_up", "create_app", "reload_keys_forever"]

log = logging.getLogger("passportoffice")

CLEANUP_BATCH = 1000


def create_app(provider: Provider, *, run_cleanup: bool = True) -> Starlette:
    routes = [
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", openid_configuration, methods=["GET"]),
        Route("/jwks", jwks, methods=["GET"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/consent", consent, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route(refresh_cookie.PATH, refresh_cookie.refresh, methods=["POST"]),
        Route(refresh_cookie.PATH, refresh_preflight, methods=["OPTIONS"]),
        Route("/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/introspect", introspect, methods=["POST"]),
        Route("/end_session", end_session, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    routes += [Route(path, preflight, methods=["OPTIONS"]) for path in ("/token", "/userinfo", "/revoke")]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await provider.keyring.ensure_keys(provider.now())
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(reload_keys_forever, provider)
            if run_cleanup:
                tasks.start_soon(_clean_up_forever, provider)
            yield
            tasks.cancel_scope.cancel()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(BaselineHeaders)],
        exception_handlers={
            OAuthError: oauth_error_handler,
            **dict.fromkeys(UNAVAILABLE_ERRORS, unavailable_error_handler),
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.provider = provider
    return app


async def _clean_up_forever(provider: Provider) -> None:
    """Every cleanup_interval, delete what has expired; a failure is logged and retried at the next tick."""
    while True:
        await anyio.sleep(provider.settings.cleanup_interval)
        try:
            deleted = await clean_up(provider)
        except Exception as exc:
            log.warning("clean-up failed: %s", type(exc).__name__)
        else:
            if deleted:
                log.info("clean-up removed %d expired rows", deleted)


async def clean_up(provider: Provider, batch_size: int = CLEANUP_BATCH) -> int:
    """Delete every expired row: one short transaction per table and batch, letting requests in between.

    Repeated until nothing is left, so that a busy provider whose rows expire faster than one batch per
    interval does not fall further behind at every tick.
    """
    total = 0
    window = provider.settings.login_throttle_window
    while deleted := await provider.storage.delete_expired(provider.now(), batch_size, throttle_window=window):
        total += deleted
        await anyio.sleep(0)  # give waiting requests their turn before the next batch
    return total


async def reload_keys_forever(provider: Provider, interval: float = RELOAD_INTERVAL) -> None:
    """Pick up keys another instance (or `keys rotate`) published, well before they start signing.

    Without this, an instance nobody asks for /jwks would learn of a rotation only at its next clean-up,
    and could go on signing with a retired key, or refuse tokens signed with the new one.
    """
    while True:
        await anyio.sleep(interval)
        try:
            await provider.keyring.reload(provider.now())
        except Exception as exc:
            log.warning("reloading the signing keys failed: %s", type(exc).__name__)
