"""Logout: revoke the refresh token (RFC 7009), end the session, hand back the provider's logout URL
(RP-Initiated Logout 1.0 §2) for the browser to navigate to. A state-changing call: CSRF-checked (K37).

The logout URL identifies the client by `client_id`, not `id_token_hint`, so no token reaches the
browser; the provider ends the session its own cookie names.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.bff.csrf import check_csrf
from passportoffice.bff.endpoints.login import NO_STORE
from passportoffice.bff.oidc import ProviderError
from passportoffice.bff.runtime import Bff
from passportoffice.protocol.secrets import new_token

log = logging.getLogger("passportoffice.bff")


async def logout(request: Request, bff: Bff) -> Response:
    check_csrf(request, bff.settings)
    session = await bff.sessions.current(request)
    if session is not None:
        await bff.sessions.end(session)
        refresh_token = session.data.get("refresh_token")
        if isinstance(refresh_token, str):
            try:
                await bff.oidc.revoke(refresh_token)
            except ProviderError as exc:
                # The session is gone here either way; the token dies with the provider session or its lifetime.
                log.warning("revoking a refresh token at logout failed: %s", exc)
    try:
        logout_url = await bff.oidc.end_session_url(new_token(16))
    except ProviderError:
        logout_url = None
    response = JSONResponse({"authenticated": False, "logout_url": logout_url}, headers=NO_STORE)
    response.delete_cookie(bff.settings.cookie_name, path="/", secure=True, httponly=True, samesite="strict")
    return response
