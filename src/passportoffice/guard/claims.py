"""Access token claims: RFC 7519 §4.1, RFC 9068 §2.2 and §4, RFC 8693 §4.2 (`scope`), RFC 6749 §3.3.

`iss` is compared as an exact string, never a prefix or substring (K19). `aud` must equal or contain
the API's audience, and a token without one is refused (K23). `exp` is required. One leeway is used in
every time comparison, `exp`, `nbf` and `iat` alike (K22). NumericDates must be finite JSON numbers:
strings and booleans are refused (RFC 7519 §2). A sender-constrained token (`cnf`, RFC 7800 §3.1,
RFC 9449 §6, RFC 8705 §3) is refused: a bearer-only check would turn a stolen one into a bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, TypeGuard

from passportoffice.guard.errors import InvalidToken

_MISSING: Any = object()
_REMEMBERED_SCOPES = 256  # distinct `scope` strings remembered; an issuer uses a handful




class VerifiedToken(NamedTuple):
    """What a validated access token says. Immutable: the cache returns the same instance again."""

    claims: Mapping[str, Any]
    issuer: str
    subject: str | None
    #: `client_id` (RFC 9068 §2.2), else `azp` (OpenID Connect Core §2; Auth0, Keycloak, Entra ID v2),
    #: else `cid` (Okta) or `appid` (Entra ID v1).
    client_id: str | None
    scopes: frozenset[str]
    audience: tuple[str, ...]
    #: `exp`; None only from introspection, when the issuer did not say (RFC 7662 §2.2).
    expires_at: int | float | None

    def has_scopes(self, *scopes: str) -> bool:
        return self.scopes.issuperset(scopes)


# NamedTuple's generated __new__ is a Python function; tuple.__new__ builds the same object in one C call.
_new_token = tuple.__new__


class ClaimRules:
    def __init__(self, issuer: str, audiences: frozenset[str], leeway: float, *, expiry_required: bool = True) -> None:
        self.issuer = issuer
        self.audiences = audiences
        self.leeway = leeway
        self.expiry_required = expiry_required
        #: `scope` strings already split: tokens of one client repeat the same few, and frozensets are immutable.
        self._scope_sets: dict[str, frozenset[str]] = {}

    def check(self, claims: dict[str, Any], now: float) -> VerifiedToken:
        """The verified token, or InvalidToken naming the first rule the claims break."""
        # Written for speed (this runs for every token seen for the first time): exact type tests,
        # the common shapes first, helpers only off the common path.
        get = claims.get
        if get("iss") != self.issuer:
            raise InvalidToken("the token's issuer is not accepted")
        aud = get("aud")
        audience = (aud,) if type(aud) is str and aud in self.audiences else self._audience(aud)
        leeway = self.leeway
        expires_at = get("exp")
        if type(expires_at) is int or _finite_float(expires_at):
            if now >= expires_at + leeway:
                raise InvalidToken("the token has expired")
        elif expires_at is not None:
            raise InvalidToken("the token's expiry is malformed")
        elif self.expiry_required:
            raise InvalidToken("the token has no expiry")
        not_before = get("nbf", _MISSING)
        if not_before is not _MISSING:
            if type(not_before) is not int and not _finite_float(not_before):
                raise InvalidToken("the token's not-before time is malformed")
            if not_before > now + leeway:
                raise InvalidToken("the token is not valid yet")
        issued_at = get("iat", _MISSING)
        if issued_at is not _MISSING:
            if type(issued_at) is not int and not _finite_float(issued_at):
                raise InvalidToken("the token's issue time is malformed")
            if issued_at > now + leeway:
                raise InvalidToken("the token was issued in the future")
        if "cnf" in claims:
            raise InvalidToken("sender-constrained tokens are not accepted as bearer tokens")
        subject = get("sub")
        client_id = get("client_id") or get("azp") or get("cid") or get("appid")
        if (subject is not None and type(subject) is not str) or (client_id is not None and type(client_id) is not str):
            raise InvalidToken("the token's subject or client is malformed")
        scope = get("scope", _MISSING)
        if type(scope) is str:
            scopes = self._scope_sets.get(scope)
            if scopes is None:
                scopes = self._scope_set(scope)
        else:
            scopes = _other_scopes(scope, claims)
        return _new_token(
            VerifiedToken, (MappingProxyType(claims), self.issuer, subject, client_id, scopes, audience, expires_at)
        )

    def _scope_set(self, scope: str) -> frozenset[str]:
        if len(self._scope_sets) >= _REMEMBERED_SCOPES:
            self._scope_sets.clear()  # a flood of distinct strings (all validly signed) only clears the memory
        scopes = self._scope_sets[scope] = frozenset(scope.split())
        return scopes

    def _audience(self, aud: Any) -> tuple[str, ...]:
        if type(aud) is list and aud:
            if not all(type(member) is str for member in aud):
                raise InvalidToken("the token's audience is malformed")
            if not self.audiences.isdisjoint(aud):
                return tuple(aud)
        elif aud is None:
            raise InvalidToken("the token has no audience")
        elif type(aud) is not str:
            raise InvalidToken("the token's audience is malformed")
        raise InvalidToken("the token is not meant for this API")


def _finite_float(value: object) -> TypeGuard[float]:
    # NumericDate is a JSON number: never a string or a boolean (bool is an int subclass, hence the exact
    # type tests), and never infinite (JSON's 1e999 parses as inf; inf - inf is nan, and nan != 0).
    return type(value) is float and value - value == 0.0


def _other_scopes(scope: Any, claims: dict[str, Any]) -> frozenset[str]:
    """`scope` as an array (Spring Authorization Server); without `scope` (RFC 9068 §2.2.3), `scp`: an
    array (Okta) or a string (Entra ID); else none."""
    if scope is _MISSING:
        scope = claims.get("scp", _MISSING)
        if scope is _MISSING:
            return frozenset()
        if type(scope) is str:
            return frozenset(scope.split())
    if type(scope) is list and all(type(member) is str for member in scope):
        return frozenset(scope)
    raise InvalidToken("the token's scope is malformed")
