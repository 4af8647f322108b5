"""Callback: the provider's authorization response (OIDC Core §3.1.2.5-§3.1.3.7, RFC 9207 §2.4).

In order, each step before anything is exchanged: the `state` names a pending login of this browser,
taken once (K14); the response's `iss` is exactly the issuer when the provider says it sends one (K15,
mix-up); an error response ends here; only then is the code redeemed with the client's credentials
(K27) and PKCE verifier, and the ID token checked (signature, iss, aud, exp, nonce). The session gets
a fresh id, and any session this browser had before is ended (K32).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from passportoffice.bff.endpoints.login import LOGIN_COOKIE, NO_STORE
from passportoffice.bff.errors import InvalidLogin
from passportoffice.bff.runtime import Bff
from passportoffice.bff.sealing import DecryptionError
from passportoffice.guard.errors import InvalidToken
from passportoffice.protocol.secrets import constant_time_equals

log = logging.getLogger("passportoffice.bff")

_MAX_PARAMETER = 4096


async def callback(request: Request, bff: Bff) -> Response:
    params = request.query_params
    if any(len(value) > _MAX_PARAMETER for value in params.values()):
        raise InvalidLogin("the authorization response is malformed")
    state = params.get("state")
    if not state:
        raise InvalidLogin("the authorization response has no state")
    assert bff.store is not None
    state_hash = bff.sealer.hash(state)
    sealed = await bff.store.take_login(state_hash, bff.now())
    if sealed is None:
        raise InvalidLogin("unknown, expired or already used state")
    try:
        transaction = bff.sealer.open_login(state_hash, sealed)
    except (DecryptionError, ValueError):
        raise InvalidLogin("unknown, expired or already used state") from None
    binding = request.cookies.get(LOGIN_COOKIE, "")
    if not binding or not constant_time_equals(bff.sealer.hash(binding), transaction["binding"]):
        raise InvalidLogin("this login was started in another browser")
    issuer = params.get("iss")
    mismatch = issuer is None or not constant_time_equals(issuer, bff.settings.issuer)
    if mismatch and (issuer is not None or await bff.oidc.requires_iss()):
        raise InvalidLogin("the authorization response comes from another issuer")  # K15, RFC 9207 §2.4
    if "error" in params:
        raise InvalidLogin("the provider did not authorize the login: " + _error_code(params["error"]))
    code = params.get("code")
    if not code:
        raise InvalidLogin("the authorization response has no code")
    tokens = await bff.oidc.redeem(code, transaction["verifier"])
    if tokens.id_token is None:
        raise InvalidLogin("the provider returned no ID token")
    try:
        claims = await bff.oidc.verify_id_token(tokens.id_token, transaction["nonce"], bff.clock())
    except InvalidToken as exc:
        log.warning("an ID token was refused: %s", exc.description)
        raise InvalidLogin("the ID token is not valid") from None
    await bff.sessions.end_by_cookie(request.cookies.get(bff.settings.cookie_name))
    cookie = await bff.sessions.start(tokens, claims)
    response = RedirectResponse(transaction["return_to"], status_code=303, headers=NO_STORE)
    settings = bff.settings
    response.set_cookie(
        settings.cookie_name,
        cookie,
        max_age=settings.session_absolute_ttl,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


def _error_code(value: str) -> str:
    # Only an RFC 6749 §4.1.2.1 error code shape is echoed; anything else is not repeated to the user.
    return value if value.replace("_", "").isalpha() and len(value) <= 64 else "error"
