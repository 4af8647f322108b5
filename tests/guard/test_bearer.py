"""RFC 6750 over HTTP: reading the Authorization header, and the one renderer of the guard's errors."""

from __future__ import annotations

import pytest

from passportoffice.errors import ServerError
from passportoffice.guard import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    MissingToken,
    bearer_token,
    error_response,
)


@pytest.mark.parametrize(
    ("values", "token"),
    [
        (["Bearer abc.def.ghi"], "abc.def.ghi"),
        (["bearer abc"], "abc"),
        (["BEARER abc"], "abc"),
        (["Bearer   abc"], "abc"),
        (["Bearer a-b_c~d+e/f=="], "a-b_c~d+e/f=="),
        ([" Bearer abc "], "abc"),
    ],
)
def test_bearer_credentials_are_read(values: list[str], token: str) -> None:
    """`Bearer` 1*SP b64token (RFC 6750 §2.1); the scheme is case-insensitive (RFC 9110 §11.1)."""
    assert bearer_token(values) == token


@pytest.mark.parametrize("values", [[], [""], ["Basic dXNlcjpwYXNz"], ["Token abc"], ["Bearerabc"], ["DPoP abc"]])
def test_no_bearer_credentials_means_missing_token(values: list[str]) -> None:
    """No header, or another scheme: no bearer credentials, a 401 without an error code (RFC 6750 §3.1)."""
    with pytest.raises(MissingToken):
        bearer_token(values)


@pytest.mark.parametrize(
    ("values", "description"),
    [
        (["Bearer"], "the Authorization header carries no token"),
        (["Bearer "], "the Authorization header carries no token"),
        (["Bearer abc def"], "the Authorization header is malformed"),
        (["Bearer abc,def"], "the Authorization header is malformed"),
        (['Bearer "abc"'], "the Authorization header is malformed"),
        (["Bearer abc=def"], "the Authorization header is malformed"),
        (["Bearer ab\u00e9"], "the Authorization header is malformed"),
        (["Bearer abc", "Bearer def"], "the request has more than one Authorization header"),
    ],
)
def test_malformed_authorization_is_invalid_request(values: list[str], description: str) -> None:
    """Two tokens, bad characters, no token after the scheme, two headers: 400 invalid_request."""
    with pytest.raises(InvalidRequest) as refused:
        bearer_token(values)
    assert (refused.value.error, refused.value.status_code, refused.value.description) == (
        "invalid_request", 400, description
    )


def test_missing_token_response() -> None:
    """401 with a bare challenge: no error code when the request had no credentials."""
    response = error_response(MissingToken())
    assert response.status_code == 401
    assert response.headers == {"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"}
    assert error_response(MissingToken(), realm="notes").headers["WWW-Authenticate"] == 'Bearer realm="notes"'


def test_invalid_token_response() -> None:
    """401 invalid_token, the description in the challenge and the body."""
    response = error_response(InvalidToken("the token has expired"), realm="notes")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="notes", error="invalid_token", error_description="the token has expired"'
    )
    assert response.body == {"error": "invalid_token", "error_description": "the token has expired"}


def test_insufficient_scope_response() -> None:
    """403 insufficient_scope naming the scopes the request needs."""
    response = error_response(InsufficientScope(("notes:read", "notes:write")))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="the access token lacks a required scope", '
        'scope="notes:read notes:write"'
    )


def test_invalid_request_response() -> None:
    response = error_response(InvalidRequest("the Authorization header is malformed"))
    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_request", error_description="the Authorization header is malformed"'
    )


def test_quotes_and_controls_cannot_break_the_challenge() -> None:
    """A realm with quotes, backslashes or a newline cannot inject parameters or headers."""
    header = error_response(InvalidToken("x"), realm='a"b\\c\r\nSet-Cookie: x').headers["WWW-Authenticate"]
    assert header == 'Bearer realm="abcSet-Cookie: x", error="invalid_token", error_description="x"'


def test_other_errors_keep_their_status() -> None:
    """Anything else the guard is handed renders with its own code and status, never as a 200."""
    response = error_response(ServerError("an unexpected error occurred"))
    assert (response.status_code, response.body["error"]) == (500, "server_error")
