"""What every verifier offers, JWT (RFC 9068 §4) or introspection (RFC 7662 §2), so that the sync form and the
framework integrations (RFC 6750 §2.1) take either."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from passportoffice.guard.claims import VerifiedToken

Scopes = str | Iterable[str]


class FetchNeeded(Exception):
    """Internal signal: this verification needs I/O (keys, metadata, introspection) before it can finish.

    `verify_without_fetching` raises it; `verify` catches it, fetches, and tries once more.
    """

    def __init__(self, *, forced: bool = False) -> None:
        super().__init__("a fetch is needed")
        #: True when an unknown `kid` asks for the JWK Set before its lifetime is over.
        self.forced = forced


class Verifier(Protocol):
    async def verify(self, token: str, scopes: Scopes = ()) -> VerifiedToken: ...

    def verify_without_fetching(self, token: str, scopes: Scopes = ()) -> VerifiedToken: ...

    async def aclose(self) -> None: ...


def required_scopes(scopes: Scopes) -> tuple[str, ...]:
    """A space-separated string (RFC 6749 §3.3) or an iterable of scopes, as a tuple."""
    if isinstance(scopes, str):
        return tuple(scopes.split())
    return tuple(scopes)
