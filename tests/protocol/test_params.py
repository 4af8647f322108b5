"""Tests for passportoffice.protocol.params."""

from __future__ import annotations

import contextlib

import pytest

from passportoffice.errors import InvalidRequest, OAuthError, RequestTooLarge
from passportoffice.protocol.params import MAX_PARAMETERS, MAX_VALUE_LENGTH, parse_parameters


def test_parses_a_query_string() -> None:
    """A query string parses to a dict of decoded names and values."""
    raw = "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+email"
    assert parse_parameters(raw) == {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": "https://app.example/cb",
        "scope": "openid email",
    }


def test_parses_a_utf8_body() -> None:
    """A bytes body is decoded as UTF-8, including percent-encoded multi-byte characters."""
    assert parse_parameters("name=é&x=%C3%A9".encode()) == {"name": "é", "x": "é"}


def test_empty_input_is_no_parameters() -> None:
    """An empty query string or body has no parameters."""
    assert parse_parameters("") == {}
    assert parse_parameters(b"") == {}


def test_empty_values_are_treated_as_omitted() -> None:
    """RFC 6749 §3.1: a parameter sent without a value is left out."""
    assert parse_parameters("state=&code=abc&nonce") == {"code": "abc"}


def test_empty_names_are_ignored() -> None:
    """A pair with an empty name is ignored, as any unrecognised parameter is."""
    assert parse_parameters("=x&=y&a=1&&") == {"a": "1"}


def test_semicolon_is_not_a_separator() -> None:
    """Only & separates parameters, so `;` stays inside the value."""
    assert parse_parameters("a=1;b=2") == {"a": "1;b=2"}


def test_repeated_parameter_is_invalid_request_naming_it() -> None:
    """RFC 6749 §3.1: a repeated parameter is invalid_request, and the description names it."""
    with pytest.raises(InvalidRequest) as info:
        parse_parameters("redirect_uri=https%3A%2F%2Fa.example&redirect_uri=https%3A%2F%2Fevil.example")
    assert info.value.error == "invalid_request"
    assert type(info.value) is InvalidRequest
    assert "redirect_uri" in info.value.description


def test_repeated_parameter_with_one_empty_copy_is_invalid_request() -> None:
    """A name repeated with one empty copy is still refused, so no two parsers disagree on its value."""
    with pytest.raises(InvalidRequest) as info:
        parse_parameters("scope=&scope=admin")
    assert info.value.error == "invalid_request"


def test_repeated_unsafe_name_is_not_echoed() -> None:
    """A repeated name with characters unsafe for error_description is not copied into it."""
    with pytest.raises(InvalidRequest) as info:
        parse_parameters("%22x%5C=1&%22x%5C=2")
    assert '"' not in info.value.description
    assert "\\" not in info.value.description


def test_max_parameters_is_accepted() -> None:
    """Exactly MAX_PARAMETERS parameters are accepted."""
    raw = "&".join(f"p{i}=v" for i in range(MAX_PARAMETERS))
    assert len(parse_parameters(raw)) == MAX_PARAMETERS


def test_too_many_parameters_is_invalid_request() -> None:
    """More than MAX_PARAMETERS parameters is invalid_request (status 400), before any dict is built."""
    raw = "&".join(f"p{i}=v" for i in range(MAX_PARAMETERS + 1))
    with pytest.raises(InvalidRequest) as info:
        parse_parameters(raw)
    assert type(info.value) is InvalidRequest
    assert (info.value.error, info.value.status_code) == ("invalid_request", 400)


def test_value_at_the_limit_is_accepted() -> None:
    """A value of exactly MAX_VALUE_LENGTH characters is accepted."""
    assert parse_parameters("a=" + "x" * MAX_VALUE_LENGTH) == {"a": "x" * MAX_VALUE_LENGTH}


def test_overlong_value_is_request_too_large() -> None:
    """A value longer than MAX_VALUE_LENGTH is RequestTooLarge: invalid_request with status 413."""
    with pytest.raises(RequestTooLarge) as info:
        parse_parameters("a=" + "x" * (MAX_VALUE_LENGTH + 1))
    assert (info.value.error, info.value.status_code) == ("invalid_request", 413)


def test_overlong_name_is_request_too_large() -> None:
    """A parameter name longer than MAX_VALUE_LENGTH is RequestTooLarge too."""
    with pytest.raises(RequestTooLarge) as info:
        parse_parameters("x" * (MAX_VALUE_LENGTH + 1) + "=1")
    assert info.value.error == "invalid_request"


def test_non_utf8_bytes_are_invalid_request() -> None:
    """A body whose bytes are not UTF-8 is invalid_request."""
    with pytest.raises(InvalidRequest) as info:
        parse_parameters(b"a=\xff\xfe")
    assert type(info.value) is InvalidRequest
    assert info.value.error == "invalid_request"


@pytest.mark.parametrize("raw", ["a=%FF", "a=%C0%AE", "%ED%A0%80=1", b"a=%E2%82"])
def test_non_utf8_percent_escapes_are_invalid_request(raw: str | bytes) -> None:
    """Percent-escapes that decode to invalid UTF-8 (overlongs, surrogates) are invalid_request."""
    with pytest.raises(InvalidRequest) as info:
        parse_parameters(raw)
    assert type(info.value) is InvalidRequest
    assert info.value.error == "invalid_request"


@pytest.mark.parametrize(
    "raw",
    ["%", "%%", "a=%G0", "&&&", "=", "a==b", "\x00=\x00", "a=b=c&d", "+=+", "%00=%00", "ü=ü"],
)
def test_odd_but_wellformed_input_never_raises_a_non_oauth_error(raw: str) -> None:
    """Malformed-looking input either parses or raises an OAuthError, never anything else."""
    with contextlib.suppress(OAuthError):
        parse_parameters(raw)
