"""Liveness and readiness probes: /healthz (the process answers), /readyz (the database answers)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.provider.context import Provider

log = logging.getLogger("passportoffice.health")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    try:
        await provider.storage.ping()
    except Exception as exc:
        log.warning("not ready: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable"}, status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})
