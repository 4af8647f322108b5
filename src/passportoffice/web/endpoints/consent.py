"""The consent page for third-party clients (OIDC Core §3.1.2.4): allow or deny, remembered per scope."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.errors import AccessDenied, InvalidRequest, OAuthError
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import current_session
from passportoffice.web import pages
from passportoffice.web.cookies import csrf_binding, csrf_token, csrf_valid, session_cookie, set_csrf_cookie
from passportoffice.web.endpoints.authorize import continue_authorization, resume
from passportoffice.web.errors import authorization_error
from passportoffice.web.requests import mark_front_channel, read_parameters


async def consent(request: Request) -> Response:
    mark_front_channel(request)
    provider: Provider = request.app.state.provider
    parameters = await read_parameters(request, provider.settings.max_body_bytes)
    request_id = parameters.get("request_id", "")
    auth_request = await resume(provider, request_id)
    if auth_request is None:
        raise InvalidRequest("this request has expired; go back to the application and try again")
    session = await current_session(provider, session_cookie(request, provider))
    if session is None:
        return await continue_authorization(provider, auth_request, None)
    if request.method == "GET":
        user = await provider.storage.get_user(session.user_id)
        binding, is_new = csrf_binding(request)
        response = pages.render(
            "consent.html",
            action="/consent",
            client_id=auth_request.client.client_id,
            scopes=auth_request.scopes,
            username=user.username if user else "",
            request_id=request_id,
            csrf_token=csrf_token(provider, binding, request_id),
        )
        if is_new:
            set_csrf_cookie(response, binding)
        return response
    if not csrf_valid(provider, request, request_id, parameters.get("csrf_token")):
        raise InvalidRequest("the consent form expired; go back to the application and try again")
    await provider.storage.delete_request(request_id)
    try:
        if parameters.get("decision") != "allow":
            raise AccessDenied("the user denied the request")
        await provider.storage.add_consent(session.user_id, auth_request.client.client_id, auth_request.scopes)
        return await continue_authorization(provider, auth_request, session, consent_given=True)
    except OAuthError as exc:
        return authorization_error(exc, auth_request.target)
