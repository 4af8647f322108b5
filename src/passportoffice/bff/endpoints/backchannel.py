"""Back-channel logout receiver: OpenID Connect Back-Channel Logout 1.0 §2.5-§2.8.

The logout token is validated like an ID token (signature by the issuer's JWKS, iss, aud, iat/exp,
through the guard), plus the logout event, no nonce, `typ` logout+jwt; a jti seen before is refused.
Then every session with its `sid` (or, without one, of its `sub`) ends. 200 on success, 400 with
`invalid_request` otherwise, never cached. No CSRF check: the signed token is the authentication.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.bff.endpoints.login import NO_STORE
from passportoffice.bff.errors import BffError
from passportoffice.bff.runtime import Bff
from passportoffice.guard.errors import InvalidToken

log = logging.getLogger("passportoffice.bff")

MAX_BODY = 16 * 1024


async def backchannel_logout(request: Request, bff: Bff) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise BffError("the logout request must be a form")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BffError("the logout request is too large")
    try:
        form = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BffError("the logout request is malformed") from None
    tokens = form.get("logout_token", [])
    if len(tokens) != 1:
        raise BffError("exactly one logout_token is required")
    try:
        claims = await bff.oidc.verify_logout_token(tokens[0])
    except InvalidToken as exc:
        log.warning("a logout token was refused: %s", exc.description)
        raise BffError("the logout token is not valid") from None
    assert bff.store is not None
    expires = int(claims["exp"]) + bff.settings.leeway
    if not await bff.store.remember_logout_token(claims["jti"], expires, bff.now()):
        log.warning("a replayed logout token was refused")
        raise BffError("the logout token was used before")
    ended = await bff.store.delete_sessions(sid=claims.get("sid"), sub=claims.get("sub"))
    log.info("back-channel logout ended %d session(s)", ended)
    return JSONResponse({}, headers=NO_STORE)
