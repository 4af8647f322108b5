"""Bearer tokens over HTTP: RFC 6750 §2.1 (the Authorization header) and §3 (`WWW-Authenticate`).

The one place where the guard's errors become HTTP responses; the framework integrations only copy
an ErrorResponse into their own response type. No credentials: 401 with a bare `Bearer` challenge
(RFC 6750 §3.1: no error code then). A malformed header: 400 `invalid_request`. A refused token: 401
`invalid_token`. Missing scopes: 403 `insufficient_scope` with the `scope` the request needs. Nothing
from the token is ever echoed back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from passportoffice import errors
from passportoffice.guard.errors import InvalidRequest, MissingToken

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_NO_STORE = "no-store"


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    status_code: int
    headers: dict[str, str]
    body: dict[str, str]


def bearer_token(authorization: Sequence[str]) -> str:
    """The token from the request's Authorization header values (all of them, to refuse duplicates)."""
    if not authorization:
        raise MissingToken()
    if len(authorization) > 1:
        raise InvalidRequest("the request has more than one Authorization header")
    scheme, _, credentials = authorization[0].strip(" \t").partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken()  # another scheme (or none) carries no bearer credentials
    credentials = credentials.lstrip(" ")  # `"Bearer" 1*SP b64token`
    if not credentials:
        raise InvalidRequest("the Authorization header carries no token")
    if _B64TOKEN.fullmatch(credentials) is None:
        raise InvalidRequest("the Authorization header is malformed")
    return credentials


def error_response(exc: errors.OAuthError, realm: str | None = None) -> ErrorResponse:
    parameters = [f'realm="{_quoted(realm)}"'] if realm else []
    body: dict[str, str] = {}
    if not isinstance(exc, MissingToken):
        parameters.append(f'error="{exc.error}"')
        body["error"] = exc.error
    if exc.description:
        body["error_description"] = exc.description
        if not isinstance(exc, MissingToken):
            parameters.append(f'error_description="{_quoted(exc.description)}"')
    if isinstance(exc, errors.InsufficientScope) and exc.scope:
        parameters.append(f'scope="{_quoted(exc.scope)}"')
    challenge = "Bearer " + ", ".join(parameters) if parameters else "Bearer"
    return ErrorResponse(exc.status_code, {"WWW-Authenticate": challenge, "Cache-Control": _NO_STORE}, body)


def _quoted(text: str) -> str:
    # RFC 6750 §3: these values are %x20-21 / %x23-5B / %x5D-7E, so quotes and backslashes are dropped.
    return "".join(ch for ch in text if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
