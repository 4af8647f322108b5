"""The one place where errors become HTTP responses.

RFC 6749 §5.2 (JSON errors), §4.1.2.1 (error redirects, with `iss` per RFC 9207), RFC 6750 §3
(`WWW-Authenticate: Bearer`), OAuth 2.0 Form Post Response Mode. Anything that is not an OAuthError
becomes `server_error` with a fixed description and one log line; a database that cannot be reached
becomes 503 `temporarily_unavailable`. No exception text or stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.errors import (
    InsufficientScope,
    InvalidClient,
    InvalidToken,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
)
from passportoffice.provider.authorization import ResponseTarget
from passportoffice.web import pages

log = logging.getLogger("passportoffice.errors")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_error(exc: OAuthError, *, bearer: bool = False) -> Response:
    """The JSON error body; `bearer` for protected resources, where every error goes in the challenge."""
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    headers = dict(NO_STORE)
    # RFC 9110 §15.5.2: every 401 names a scheme; RFC 6749 §5.2: Basic when the client tried it (and we offer it).
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="passportoffice"'
    # RFC 6750 §3: a protected resource names its error (invalid_request too) in WWW-Authenticate.
    if bearer or isinstance(exc, InvalidToken | InsufficientScope):
        headers["WWW-Authenticate"] = bearer_challenge(exc)
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def bearer_challenge(exc: OAuthError | None) -> str:
    if exc is None:
        return 'Bearer realm="passportoffice"'
    parts = [f'error="{exc.error}"']
    if exc.description:
        parts.append(f'error_description="{_quoted(exc.description)}"')
    if isinstance(exc, InsufficientScope) and exc.scope:
        parts.append(f'scope="{_quoted(exc.scope)}"')
    return "Bearer " + ", ".join(parts)


def authorization_response(target: ResponseTarget, parameters: dict[str, str]) -> Response:
    """A success or error response to the client's redirect_uri: query or form_post, always with iss."""
    values = dict(parameters)
    if target.state is not None:
        values["state"] = target.state
    values["iss"] = target.issuer
    if target.response_mode == "form_post":
        return pages.form_post(target.redirect_uri, values)
    separator = "&" if "?" in target.redirect_uri else "?"
    return Response(
        status_code=303, headers={"Location": target.redirect_uri + separator + urlencode(values), **NO_STORE}
    )


def authorization_error(exc: OAuthError, target: ResponseTarget | None) -> Response:
    """An error at the authorization endpoint: redirected only to a validated, registered URI (K07)."""
    if target is None or not exc.redirectable:
        return pages.error_page(exc)
    parameters = {"error": exc.error}
    if exc.description:
        parameters["error_description"] = exc.description
    return authorization_response(target, parameters)


async def oauth_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    if getattr(request.state, "front_channel", False):
        return pages.error_page(exc)
    return json_error(exc)


async def unavailable_error_handler(request: Request, exc: Exception) -> Response:
    """The database (or another backing service) cannot be reached: 503, one warning line, no traceback."""
    log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return _error_response(request, TemporarilyUnavailable("the service is temporarily unavailable"))


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error_response(request, ServerError("an unexpected error occurred"))


# Registered per class (not under `Exception`) so Starlette answers them without re-raising to the
# server, which would log a stack trace for every request while the database is down.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, DBAPIError, ConnectionError, TimeoutError, OSError)


def _error_response(request: Request, error: OAuthError) -> Response:
    if getattr(request.state, "front_channel", False):
        return pages.error_page(error)
    return json_error(error)


def _quoted(text: str) -> str:
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, so drop quotes and backslashes.
    return "".join(ch for ch in text if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
