"""RP-initiated logout: OpenID Connect RP-Initiated Logout 1.0 §2-§3.

The session named by `id_token_hint` ends even when the request carries no cookie (K32), and its
non-offline refresh tokens are revoked with it. A redirect happens only for an identified client
to a post_logout_redirect_uri it registered, matched exactly; otherwise a local page (K34).
Every refresh cookie the browser sends (issue 4) has its family revoked, offline_access or not, and
is cleared: logging out in a browser leaves no refresh token alive in it. Logout is a top-level
navigation from the app's own site, so the SameSite=Strict cookies are sent.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.errors import InvalidRequest, InvalidToken
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import current_session
from passportoffice.provider.own_tokens import validate_id_token_hint
from passportoffice.provider.refresh_cookies import revoke_cookie_family
from passportoffice.web import pages
from passportoffice.web.cookies import clear_refresh_cookie, clear_session_cookie, refresh_cookies, session_cookie
from passportoffice.web.errors import NO_STORE
from passportoffice.web.requests import mark_front_channel, read_parameters

_MAX_REFRESH_COOKIES = 20


async def end_session(request: Request) -> Response:
    mark_front_channel(request)
    provider: Provider = request.app.state.provider
    parameters = await read_parameters(request, provider.settings.max_body_bytes)
    client_id = parameters.get("client_id")
    hint = parameters.get("id_token_hint")
    sids: set[str] = set()
    if hint:
        try:
            claims = validate_id_token_hint(provider, hint)
        except InvalidToken:
            # The hint is a request parameter, not a bearer credential: a bad one is a 400 invalid_request
            # (RP-Initiated Logout §2), not a 401 page without the WWW-Authenticate that a 401 requires.
            raise InvalidRequest("id_token_hint is not a valid ID token from this provider") from None
        audience = claims.get("aud")
        hinted_client = audience if isinstance(audience, str) else None
        if client_id is not None and client_id != hinted_client:
            raise InvalidRequest("client_id does not match id_token_hint")
        client_id = hinted_client
        if isinstance(claims.get("sid"), str):
            sids.add(claims["sid"])
    session = await current_session(provider, session_cookie(request, provider))
    if session is not None:
        sids.add(session.sid)
    ended = [await provider.storage.end_session(sid, provider.now()) for sid in sids]
    if any(ended):
        # Back-Channel Logout §2.5: sent off the request path, by this instance's delivery task.
        request.app.state.logout_delivery.wake()
    # Bounded: a browser sends one per refresh-cookie client, and a request may carry only so many cookies.
    cookies = list(refresh_cookies(request).items())[:_MAX_REFRESH_COOKIES]
    for cookie_client_id, value in cookies:
        await revoke_cookie_family(provider, cookie_client_id, value)
    response = await _after_logout(provider, client_id, parameters)
    clear_session_cookie(response, provider)
    for cookie_client_id, _ in cookies:
        clear_refresh_cookie(response, cookie_client_id)
    return response


async def _after_logout(provider: Provider, client_id: str | None, parameters: dict[str, str]) -> Response:
    target = parameters.get("post_logout_redirect_uri")
    client = await provider.storage.get_client(client_id) if client_id and len(client_id) <= 255 else None
    if target and client is not None and target in client.post_logout_redirect_uris:
        query = {"state": parameters["state"]} if "state" in parameters else {}
        separator = "&" if "?" in target else "?"
        location = target + (separator + urlencode(query) if query else "")
        return Response(status_code=303, headers={"Location": location, **NO_STORE})
    return pages.render("logged_out.html")
