"""User: the session's status and display claims as JSON for the UI; never a token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.bff.csrf import check_csrf
from passportoffice.bff.endpoints.login import NO_STORE
from passportoffice.bff.runtime import Bff


async def user(request: Request, bff: Bff) -> Response:
    check_csrf(request, bff.settings)
    session = await bff.sessions.current(request)
    if session is None:
        return JSONResponse({"authenticated": False}, headers=NO_STORE)
    return JSONResponse(
        {
            "authenticated": True,
            "user": dict(session.data.get("claims", {})),
            "expires_at": session.stored.expires_at,
        },
        headers=NO_STORE,
    )
