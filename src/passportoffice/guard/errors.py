"""What the guard refuses with: RFC 6750 §3.1 error codes for protected resources.

The classes extend the provider's own (`passportoffice.errors`), so each error code has one family of
classes and one place renders them. Every description is a fixed, short sentence: no token, claim
value or exception text ever goes into one, because descriptions are sent back to the caller.
"""

from __future__ import annotations

from passportoffice import errors


class InvalidToken(errors.InvalidToken):
    """The access token was refused: malformed, forged, expired, revoked or meant for someone else."""


class MissingToken(InvalidToken):
    """The request carried no bearer credentials at all.

    RFC 6750 §3.1: the challenge then names no error code, only the scheme (and realm).
    """

    def __init__(self) -> None:
        super().__init__("a bearer access token is required")


class InsufficientScope(errors.InsufficientScope):
    """The token is valid but lacks scopes the request needs; `scopes` names all that are needed."""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        super().__init__("the access token lacks a required scope", scope=" ".join(scopes))
        self.scopes = scopes


class InvalidRequest(errors.InvalidRequest):
    """The Authorization header is malformed (RFC 6750 §2.1, §3.1): a 400, not a 401."""
