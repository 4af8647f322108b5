"""The sign-in page (OIDC Core §3.1.2.3): a CSRF-protected username and password form.

An unknown user and a wrong password get the same status, page and timing (K29); throttling is
per account and per address (K30); every sign-in starts a fresh session id (K32).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.errors import InvalidRequest, OAuthError
from passportoffice.provider import authorization as flow
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import LoginThrottled, authenticate, current_session, start_session
from passportoffice.web import pages
from passportoffice.web.cookies import (
    csrf_binding,
    csrf_token,
    csrf_valid,
    session_cookie,
    set_csrf_cookie,
    set_session_cookie,
)
from passportoffice.web.endpoints.authorize import continue_authorization, resume
from passportoffice.web.errors import authorization_error
from passportoffice.web.requests import client_address, mark_front_channel, read_parameters

INVALID_CREDENTIALS = "Invalid username or password."
THROTTLED = "Too many sign-in attempts. Wait a few minutes and try again."
_MAX_USERNAME_LENGTH = 255


async def login(request: Request) -> Response:
    mark_front_channel(request)
    provider: Provider = request.app.state.provider
    parameters = await read_parameters(request, provider.settings.max_body_bytes)
    request_id = parameters.get("request_id", "")
    auth_request = await _pending(provider, request_id)
    if request.method == "GET":
        return _form(provider, request, auth_request, request_id, username=auth_request.login_hint or "")
    if not csrf_valid(provider, request, request_id, parameters.get("csrf_token")):
        raise InvalidRequest("the sign-in form expired; go back to the application and try again")
    username = parameters.get("username", "")[:_MAX_USERNAME_LENGTH]
    try:
        user = await authenticate(provider, username, parameters.get("password", ""), client_address(request))
    except LoginThrottled:
        return _form(provider, request, auth_request, request_id, username, THROTTLED, status_code=429)
    if user is None:
        return _form(provider, request, auth_request, request_id, username, INVALID_CREDENTIALS, status_code=401)
    previous = await current_session(provider, session_cookie(request, provider))
    if previous is not None and await provider.storage.end_session(previous.sid, provider.now()):
        request.app.state.logout_delivery.wake()  # its clients hear of it (Back-Channel Logout §2.5)
    new = await start_session(provider, user, ("pwd",))
    await provider.storage.delete_request(request_id)
    try:
        response = await continue_authorization(provider, auth_request, new.session, fresh_login=True)
    except OAuthError as exc:
        response = authorization_error(exc, auth_request.target)
    set_session_cookie(response, provider, new.cookie_value)
    return response


async def _pending(provider: Provider, request_id: str) -> flow.AuthorizationRequest:
    auth_request = await resume(provider, request_id)
    if auth_request is None:
        raise InvalidRequest("this sign-in request has expired; go back to the application and try again")
    return auth_request


def _form(
    provider: Provider,
    request: Request,
    auth_request: flow.AuthorizationRequest,
    request_id: str,
    username: str,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    binding, is_new = csrf_binding(request)
    response = pages.render(
        "login.html",
        status_code=status_code,
        action="/login",
        client_id=auth_request.client.client_id,
        request_id=request_id,
        csrf_token=csrf_token(provider, binding, request_id),
        username=username,
        message=message,
    )
    if is_new:
        set_csrf_cookie(response, binding)
    return response
