"""Login: the browser navigates here and is sent to the provider (OIDC Core §3.1.2.1, RFC 7636 §4).

Each login is a pending transaction keyed by its own `state` (K14): two tabs logging in at once each
complete. The transaction is bound to this browser by a login cookie (SameSite=Lax, so it comes back
on the provider's top-level redirect), so a callback carried to another browser completes nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from passportoffice.bff.runtime import Bff
from passportoffice.protocol.secrets import new_token

LOGIN_COOKIE = "__Host-passportoffice-bff-login"
NO_STORE = {"Cache-Control": "no-store"}


def safe_return_path(value: str | None) -> str:
    """Only a local path: never another origin (`//host`, `/\\host`, `https:`), so never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2048:
        return "/"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "/"
    return value


async def login(request: Request, bff: Bff) -> Response:
    binding = request.cookies.get(LOGIN_COOKIE)
    if not binding or len(binding) > 64:
        binding = new_token(32)
    state, nonce, verifier = new_token(32), new_token(32), new_token(48)
    state_hash = bff.sealer.hash(state)
    transaction = {
        "nonce": nonce,
        "verifier": verifier,
        "binding": bff.sealer.hash(binding),
        "return_to": safe_return_path(request.query_params.get("return_to")),
    }
    assert bff.store is not None
    sealed = bff.sealer.seal_login(state_hash, transaction)
    await bff.store.put_login(state_hash, sealed, bff.now() + bff.settings.login_ttl)
    location = await bff.oidc.authorization_url(state=state, nonce=nonce, verifier=verifier)
    response = RedirectResponse(location, status_code=303, headers=NO_STORE)
    response.set_cookie(
        LOGIN_COOKIE, binding, max_age=bff.settings.login_ttl, path="/", secure=True, httponly=True, samesite="lax"
    )
    return response
