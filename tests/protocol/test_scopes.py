"""Tests for passportoffice.protocol.scopes."""

from __future__ import annotations

import pytest

from passportoffice.errors import InvalidScope
from passportoffice.protocol.scopes import (
    MAX_SCOPE_COUNT,
    MAX_SCOPE_LENGTH,
    MAX_SCOPE_TOKEN_LENGTH,
    allowed_scope,
    format_scope,
    narrow_scope,
    parse_scope,
)


def test_limits_are_the_documented_values() -> None:
    """The limits are 2048 characters, 100 scopes and 255 characters per scope."""
    assert (MAX_SCOPE_LENGTH, MAX_SCOPE_COUNT, MAX_SCOPE_TOKEN_LENGTH) == (2048, 100, 255)


@pytest.mark.parametrize("raw", [None, ""])
def test_parse_scope_absent_is_empty(raw: str | None) -> None:
    """An absent or empty scope parameter parses to the empty tuple."""
    assert parse_scope(raw) == ()


def test_parse_scope_splits_on_spaces_in_order() -> None:
    """Scopes come back in the order they were sent."""
    assert parse_scope("openid profile email") == ("openid", "profile", "email")


def test_parse_scope_ignores_repeated_spaces() -> None:
    """Leading, trailing and repeated spaces produce no empty scopes."""
    assert parse_scope("  openid   profile ") == ("openid", "profile")


def test_parse_scope_only_spaces_is_empty() -> None:
    """A scope parameter made only of spaces parses to the empty tuple."""
    assert parse_scope("   ") == ()


def test_parse_scope_removes_duplicates_keeping_first_position() -> None:
    """A repeated scope appears once, where it first appeared."""
    assert parse_scope("b a b c a") == ("b", "a", "c")


def test_parse_scope_accepts_every_allowed_character() -> None:
    """All of %x21 / %x23-5B / %x5D-7E are allowed in a scope token."""
    token = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
    assert parse_scope(token) == (token,)


@pytest.mark.parametrize(
    "raw",
    ['a"b', "a\\b", "read\twrite", "read\nwrite", "caf\u00e9", "x\x00", "x\x7f", "read\u00a0write"],
)
def test_parse_scope_refuses_characters_outside_rfc6749(raw: str) -> None:
    """Quotes, backslashes, tabs, controls and non-ASCII characters are invalid_scope."""
    with pytest.raises(InvalidScope) as info:
        parse_scope(raw)
    assert info.value.error == "invalid_scope"


def test_parse_scope_token_length_limit() -> None:
    """A 255-character scope is accepted and a 256-character one is invalid_scope."""
    assert parse_scope("a" * 255) == ("a" * 255,)
    with pytest.raises(InvalidScope) as info:
        parse_scope("a" * 256)
    assert info.value.error == "invalid_scope"


def test_parse_scope_accepts_exactly_the_limits() -> None:
    """100 scopes, and a string of exactly 2048 characters, are accepted."""
    hundred = " ".join(f"s{i}" for i in range(100))
    assert len(parse_scope(hundred)) == 100
    tokens = [letter * 255 for letter in "abcdefgh"]
    exact = " ".join(tokens[:7]) + "  " + tokens[7]
    assert len(exact) == 2048
    assert parse_scope(exact) == tuple(tokens)


@pytest.mark.parametrize(
    "raw",
    [
        " ".join(f"s{i}" for i in range(101)),  # 101 distinct scopes
        " ".join(["openid"] * 101),  # 101 tokens, even if they repeat
        "a " * 1024 + "b",  # over 2048 characters
        "a" * 2049,
    ],
)
def test_k42_too_many_or_too_long_scopes_are_invalid_scope(raw: str) -> None:
    """K42: more than 100 scopes or more than 2048 characters is invalid_scope, never a crash later."""
    with pytest.raises(InvalidScope) as info:
        parse_scope(raw)
    assert info.value.error == "invalid_scope"


@pytest.mark.parametrize(
    "raw",
    [
        "custom:" + "a" * 40 + '"',
        "custom:" + "a:" * 20 + "\\",
        "custom:" + "a" * 300,
        "custom:" + "a" * 100_000,
        "custom:" + "a " * 50_000,
        "x" * 100_000,
        " " * 100_000,
    ],
)
def test_k44_crafted_and_huge_scopes_are_invalid_scope(raw: str) -> None:
    """K44: crafted parameterised scopes and 100 kB scope strings are invalid_scope, checked size-first."""
    with pytest.raises(InvalidScope) as info:
        parse_scope(raw)
    assert info.value.error == "invalid_scope"


def test_parameterised_scope_is_an_opaque_token() -> None:
    """A parameterised scope such as `custom:` plus 40 characters is one opaque token, not a pattern."""
    raw = "custom:" + "a" * 40 + "!"
    assert parse_scope(raw) == (raw,)


def test_format_scope_joins_with_single_spaces() -> None:
    """format_scope produces the space-delimited wire form, and round-trips through parse_scope."""
    assert format_scope(("openid", "email")) == "openid email"
    assert format_scope(()) == ""
    assert parse_scope(format_scope(("a", "b"))) == ("a", "b")


def test_k25_omitted_scope_on_refresh_keeps_the_original_grant() -> None:
    """K25: a refresh with no scope gets exactly the originally granted scope, not an empty one."""
    assert narrow_scope((), ("read", "write")) == ("read", "write")


def test_k25_narrower_scope_on_refresh_is_that_subset() -> None:
    """K25: a refresh asking for a subset of the grant gets that subset."""
    assert narrow_scope(("read",), ("read", "write")) == ("read",)


def test_k25_scope_escalation_on_refresh_is_invalid_scope() -> None:
    """K25: a refresh asking for any scope that was not granted is invalid_scope."""
    with pytest.raises(InvalidScope) as info:
        narrow_scope(("read", "admin"), ("read", "write"))
    assert info.value.error == "invalid_scope"
    assert "admin" in info.value.description


def test_allowed_scope_returns_requested_when_permitted() -> None:
    """Requested scopes that the client may use are returned unchanged."""
    assert allowed_scope(("openid", "email"), ["email", "openid", "profile"]) == ("openid", "email")
    assert allowed_scope((), ["openid"]) == ()


def test_allowed_scope_refuses_unknown_scopes() -> None:
    """A requested scope outside the client's allowed set is invalid_scope."""
    with pytest.raises(InvalidScope) as info:
        allowed_scope(("openid", "admin"), iter(["openid"]))
    assert info.value.error == "invalid_scope"


def test_allowed_scope_does_not_echo_malformed_scopes() -> None:
    """A malformed scope that skipped parse_scope is not copied into the error description."""
    with pytest.raises(InvalidScope) as info:
        allowed_scope(('<a href="x">',), ["openid"])
    assert '"' not in info.value.description
