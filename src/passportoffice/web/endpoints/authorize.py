"""Authorization endpoint (GET and POST): RFC 6749 §3.1, §4.1.1-§4.1.2, OIDC Core §3.1.2, RFC 9207.

The steps shared with login and consent live in `continue_authorization`: sign-in, then consent,
then the code, each answered in the response mode the client asked for.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.errors import OAuthError
from passportoffice.provider import authorization as flow
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import current_session
from passportoffice.storage.records import Session
from passportoffice.web.cookies import session_cookie
from passportoffice.web.errors import NO_STORE, authorization_error, authorization_response
from passportoffice.web.requests import mark_front_channel, read_parameters


async def authorize(request: Request) -> Response:
    mark_front_channel(request)
    provider: Provider = request.app.state.provider
    parameters = await read_parameters(request, provider.settings.max_body_bytes)
    client, target = await flow.identify_client(provider, parameters)
    session = await current_session(provider, session_cookie(request, provider))
    try:
        auth_request = flow.validate_request(provider, client, target, parameters)
        return await continue_authorization(provider, auth_request, session)
    except OAuthError as exc:
        return authorization_error(exc, target)


async def continue_authorization(
    provider: Provider,
    auth_request: flow.AuthorizationRequest,
    session: Session | None,
    *,
    fresh_login: bool = False,
    consent_given: bool = False,
) -> Response:
    """Sign-in, consent, code: whichever comes next. Raises OAuthError for the caller to redirect."""
    if flow.needs_login(provider, auth_request, session, fresh_login) or session is None:
        request_id = await flow.park_request(provider, auth_request)
        return _see_other("/login?" + urlencode({"request_id": request_id}))
    if await flow.needs_consent(provider, auth_request, session, consent_given):
        request_id = await flow.park_request(provider, auth_request, signed_in=True)
        return _see_other("/consent?" + urlencode({"request_id": request_id}))
    code = await flow.issue_code(provider, auth_request, session)
    return authorization_response(auth_request.target, {"code": code})


async def resume(provider: Provider, request_id: str | None) -> flow.AuthorizationRequest | None:
    """The parked request, validated again (the client may have changed meanwhile)."""
    if not request_id or len(request_id) > 64:
        return None
    parameters = await provider.storage.get_request(request_id, provider.now())
    if parameters is None:
        return None
    client, target = await flow.identify_client(provider, parameters)
    return flow.validate_request(provider, client, target, parameters)


def _see_other(location: str) -> Response:
    return Response(status_code=303, headers={"Location": location, **NO_STORE})
