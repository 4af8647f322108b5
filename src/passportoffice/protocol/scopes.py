"""Scope syntax and scope rules: RFC 6749 §3.3, §6 (refresh may only narrow)."""

from __future__ import annotations

from collections.abc import Iterable

from passportoffice.errors import InvalidScope

__all__ = [
    "MAX_SCOPE_COUNT",
    "MAX_SCOPE_LENGTH",
    "MAX_SCOPE_TOKEN_LENGTH",
    "allowed_scope",
    "format_scope",
    "narrow_scope",
    "parse_scope",
]

# K42: documented limits, so a long scope string is a 400 here rather than a 500 in the database.
MAX_SCOPE_LENGTH = 2048
MAX_SCOPE_COUNT = 100
MAX_SCOPE_TOKEN_LENGTH = 255

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII except space, `"` and `\`.
_SCOPE_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}


def parse_scope(raw: str | None) -> tuple[str, ...]:
    """Parse a space-delimited scope parameter into distinct tokens, in the order given.

    An absent or empty parameter is the empty tuple. Raises InvalidScope when the string is longer
    than MAX_SCOPE_LENGTH, holds more than MAX_SCOPE_COUNT tokens, or a token is longer than
    MAX_SCOPE_TOKEN_LENGTH or has a character outside RFC 6749 §3.3.
    """
    if not raw:
        return ()
    # K44: bound the work before splitting or matching anything.
    if len(raw) > MAX_SCOPE_LENGTH:
        raise InvalidScope(f"scope is longer than {MAX_SCOPE_LENGTH} characters")
    tokens = [token for token in raw.split(" ") if token]
    if len(tokens) > MAX_SCOPE_COUNT:
        raise InvalidScope(f"more than {MAX_SCOPE_COUNT} scopes requested")
    for token in tokens:
        if len(token) > MAX_SCOPE_TOKEN_LENGTH:
            raise InvalidScope(f"a scope is longer than {MAX_SCOPE_TOKEN_LENGTH} characters")
        if not set(token) <= _SCOPE_TOKEN_CHARS:
            raise InvalidScope("a scope contains a character not allowed by RFC 6749 §3.3")
    return tuple(dict.fromkeys(tokens))


def format_scope(scopes: Iterable[str]) -> str:
    """Join scope tokens into the space-delimited form used on the wire."""
    return " ".join(scopes)


def narrow_scope(requested: tuple[str, ...], granted: tuple[str, ...]) -> tuple[str, ...]:
    """Return the scope for a refreshed token: the original grant, or a subset of it (RFC 6749 §6).

    An omitted scope means the original grant, never an empty one (K25, fxa#2408).
    """
    if not requested:
        return granted
    _require_subset(requested, frozenset(granted), "was not granted")
    return requested


def allowed_scope(requested: tuple[str, ...], allowed: Iterable[str]) -> tuple[str, ...]:
    """Return `requested` if every scope in it is one the client may ask for, else InvalidScope."""
    _require_subset(requested, frozenset(allowed), "is not allowed for this client")
    return requested


def _require_subset(requested: tuple[str, ...], permitted: frozenset[str], reason: str) -> None:
    for scope in requested:
        if scope not in permitted:
            # Echo the scope only when it is a well-formed token: RFC 6749 §5.2 limits
            # error_description to the same characters, and callers may skip parse_scope.
            well_formed = len(scope) <= MAX_SCOPE_TOKEN_LENGTH and set(scope) <= _SCOPE_TOKEN_CHARS
            raise InvalidScope(f"scope {scope} {reason}" if well_formed else f"a scope {reason}")
