"""Validating JWT access tokens at a resource server: RFC 9068 §4, RFC 8725 §3, RFC 6750 §3.1.

    verifier = TokenVerifier("https://idp.example", "https://api.example")
    token = await verifier.verify(bearer, scopes=("notes:read",))

The signature is checked with a key from the issuer's JWK Set (found through its metadata unless
`jwks_uri` is given), then the claims. Every refusal is an InvalidToken or an InsufficientScope; no
other exception leaves `verify` for anything a caller sends. Tokens verified before are answered
from a bounded cache, with their expiry and the caller's scopes still checked each time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from types import TracebackType

import httpx

from passportoffice.guard.cache import VerifiedTokenCache
from passportoffice.guard.claims import ClaimRules, VerifiedToken
from passportoffice.guard.discovery import discover, endpoint
from passportoffice.guard.errors import InsufficientScope, InvalidToken
from passportoffice.guard.fetch import fetch_json, new_http_client
from passportoffice.guard.jwks import JwksCache, JwksPolicy
from passportoffice.guard.jws import HeaderRules, parse_payload, verify_compact
from passportoffice.guard.keys import ASYMMETRIC_ALGORITHMS, KeySet, UnknownKey, key_set_from_jwks
from passportoffice.guard.verifying import FetchNeeded, Scopes, required_scopes

log = logging.getLogger("passportoffice.guard")

DEFAULT_MAX_TOKEN_LENGTH = 8192  # ours are under 1 KiB; Entra ID's with many groups reach about 4 KiB
DEFAULT_CACHE_SIZE = 4096
MAX_LEEWAY = 600
ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1


class TokenVerifier:
    """Validates the JWT access tokens of one issuer for one API (one or more audience values).

    A verifier belongs to one event loop; for synchronous code wrap it in SyncTokenVerifier.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str],
        *,
        jwks_uri: str | None = None,
        algorithms: Iterable[str] | None = None,
        leeway: float = 60,
        required_token_type: str | None = ACCESS_TOKEN_TYPE,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
        cache_size: int = DEFAULT_CACHE_SIZE,
        jwks_policy: JwksPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """
        `required_token_type` is the JOSE `typ` every token must carry: RFC 9068's `at+jwt` by default,
        which keeps ID tokens and other JWTs of the same issuer out (K24). Set it to None only for an
        issuer that does not type its access tokens; the audience check must then tell them apart.
        """
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer must be the issuer identifier, exactly as its tokens carry it")
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not audiences or not all(isinstance(value, str) and value for value in audiences):
            raise ValueError("audience must name this API")
        allowed = frozenset(ASYMMETRIC_ALGORITHMS if algorithms is None else algorithms)
        if not allowed or not allowed <= ASYMMETRIC_ALGORITHMS:
            unsupported = ", ".join(sorted(allowed - ASYMMETRIC_ALGORITHMS)) or "none given"
            raise ValueError(f"algorithms must be asymmetric JWS algorithms ({unsupported})")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY} seconds")
        if max_token_length < 256:
            raise ValueError("max_token_length is too small for any access token")
        self.issuer = issuer
        self.audiences = audiences
        self._algorithms = allowed
        self._leeway = leeway
        self._max_length = max_token_length
        self._jwks_uri = jwks_uri
        self._jwks_policy = jwks_policy or JwksPolicy()
        self._own_http = http_client is None
        self._http = http_client
        self._clock = clock
        self._headers = HeaderRules(allowed, required_token_type)
        self._claims = ClaimRules(issuer, audiences, leeway)
        self._cache = VerifiedTokenCache(cache_size)
        self._jwks = JwksCache(self._load_keys, self._jwks_policy, clock, self._cache.keep_keys_of)

    async def verify(self, token: str, scopes: Scopes = ()) -> VerifiedToken:
        """The validated token; InvalidToken or InsufficientScope (naming every scope needed) otherwise."""
        try:
            return self._verify(token, scopes, True)
        except FetchNeeded as needed:
            await self._jwks.refresh(forced=needed.forced)
        try:
            return self._verify(token, scopes, False)
        except FetchNeeded:
            raise InvalidToken("the issuer's keys are unavailable") from None

    def verify_without_fetching(self, token: str, scopes: Scopes = ()) -> VerifiedToken:
        """As `verify`, but raise FetchNeeded instead of fetching keys (SyncTokenVerifier's fast path)."""
        return self._verify(token, scopes, True)

    def _verify(self, token: str, scopes: Scopes, may_fetch: bool) -> VerifiedToken:
        now = self._clock()
        # The length first: looking a token up hashes all of it, and a huge one is refused unread (K40).
        cached = self._cache.get(token) if type(token) is str and len(token) <= self._max_length else None
        if cached is not None and now < cached[1] and now < self._jwks.trusted_until:
            verified = cached[0]
        else:
            try:
                keys = self._jwks.current(now)
                try:
                    payload, key = verify_compact(token, keys, self._headers, self._max_length)
                except UnknownKey:
                    if may_fetch and self._jwks.may_force(now):
                        raise FetchNeeded(forced=True) from None
                    raise
                verified = self._claims.check(parse_payload(payload), now)
            except (InvalidToken, FetchNeeded):
                raise
            except Exception:
                # Fail closed: whatever a hostile token provokes in a library is a refusal, never a 500.
                log.exception("unexpected error while verifying a token")
                raise InvalidToken("the token could not be verified") from None
            if verified.expires_at is not None:  # always, as exp is required; the test keeps mypy honest
                self._cache.put(token, verified, verified.expires_at + self._leeway, key.fingerprint)
        if scopes:
            needed = required_scopes(scopes)
            if not verified.scopes.issuperset(needed):
                raise InsufficientScope(needed)
        return verified

    async def _load_keys(self) -> tuple[KeySet, int | None]:
        http = self._client()
        if self._jwks_uri is None:
            metadata = await discover(http, self.issuer)
            self._jwks_uri = endpoint(metadata, "jwks_uri", self.issuer)
        fetched = await fetch_json(http, self._jwks_uri, self._jwks_policy.max_bytes)
        return key_set_from_jwks(fetched.document, self._algorithms), fetched.max_age

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = new_http_client()
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP client if the verifier made its own."""
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> TokenVerifier:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()
