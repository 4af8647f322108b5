"""Validating opaque (reference) access tokens by asking the issuer: RFC 7662 §2, RFC 6749 §2.3.1.

The resource server authenticates as a client (`client_secret_basic` or `client_secret_post`) and
posts the token to the introspection endpoint (given, or from the issuer's metadata). The answer must
say `"active": true`; `token_type`, when present, must be a bearer access token (a refresh token or a
DPoP-bound token is refused); `iss`, when present, must be exactly the issuer; `aud` must name this API;
`exp`, `nbf`, `iat` and the scopes are checked as in a JWT (passportoffice.guard.claims).

Answers are cached briefly (`cache_ttl`, never beyond `exp`): a revoked token is refused at the latest
`cache_ttl` seconds after its revocation (K11), which is the trade-off RFC 7662 §4 describes.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Literal
from urllib.parse import quote_plus

import httpx

from passportoffice.guard.claims import ClaimRules, VerifiedToken
from passportoffice.guard.discovery import discover, endpoint
from passportoffice.guard.errors import InsufficientScope, InvalidToken
from passportoffice.guard.fetch import FetchError, new_http_client, request_json
from passportoffice.guard.verifier import DEFAULT_CACHE_SIZE, DEFAULT_MAX_TOKEN_LENGTH, MAX_LEEWAY
from passportoffice.guard.verifying import FetchNeeded, Scopes, required_scopes

log = logging.getLogger("passportoffice.guard")

MAX_CACHE_TTL = 300
MAX_RESPONSE_BYTES = 64 * 1024
_BEARER_TYPES = frozenset({"bearer", "access_token"})
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1


class IntrospectionVerifier:
    """Validates opaque access tokens through the issuer's introspection endpoint."""

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str],
        *,
        client_id: str,
        client_secret: str,
        introspection_endpoint: str | None = None,
        auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        cache_ttl: float = 30,
        cache_size: int = DEFAULT_CACHE_SIZE,
        leeway: float = 60,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not issuer or not audiences or not client_id or not client_secret:
            raise ValueError("issuer, audience, client_id and client_secret are all required")
        if not 0 <= cache_ttl <= MAX_CACHE_TTL:
            raise ValueError(f"cache_ttl must be between 0 and {MAX_CACHE_TTL} seconds")
        if not 0 <= leeway <= MAX_LEEWAY or cache_size < 0:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY} seconds, cache_size not negative")
        self.issuer = issuer
        self.audiences = audiences
        self._client_id = client_id
        self._client_secret = client_secret
        self._endpoint = introspection_endpoint
        self._auth_method = auth_method
        self._cache_ttl = cache_ttl
        self._cache_size = cache_size
        self._max_length = max_token_length
        self._own_http = http_client is None
        self._http = http_client
        self._clock = clock
        # The issuer that answers vouches for the token, so its answer may omit `exp` (RFC 7662 §2.2).
        self._claims = ClaimRules(issuer, audiences, leeway, expiry_required=False)
        self._cache: OrderedDict[str, tuple[VerifiedToken, float]] = OrderedDict()

    async def verify(self, token: str, scopes: Scopes = ()) -> VerifiedToken:
        try:
            return self.verify_without_fetching(token, scopes)
        except FetchNeeded:
            pass
        now = self._clock()
        verified = self._claims.check(await self._introspect(token), now)
        valid_until = now + self._cache_ttl
        if verified.expires_at is not None:
            valid_until = min(valid_until, verified.expires_at)
        if self._cache_size and valid_until > now:
            self._cache[token] = (verified, valid_until)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return _with_scopes(verified, scopes)

    def verify_without_fetching(self, token: str, scopes: Scopes = ()) -> VerifiedToken:
        """A cached answer, or FetchNeeded; malformed and oversized tokens are refused without asking."""
        if type(token) is not str:
            raise InvalidToken("the token is malformed")
        if len(token) > self._max_length:
            raise InvalidToken("the token is too large")  # K40: refused before anything is sent
        if not _B64TOKEN.fullmatch(token):
            raise InvalidToken("the token is malformed")
        cached = self._cache.get(token)
        if cached is None or self._clock() >= cached[1]:
            raise FetchNeeded()
        return _with_scopes(cached[0], scopes)

    async def _introspect(self, token: str) -> dict[str, Any]:
        try:
            answer = await self._post(token)
        except FetchError as exc:
            # Fail closed: a token the issuer cannot vouch for now is not accepted.
            log.warning("token introspection failed: %s", exc)
            raise InvalidToken("the token could not be checked with its issuer") from None
        if not isinstance(answer, dict) or answer.get("active") is not True:
            raise InvalidToken("the token is not active")
        token_type = answer.get("token_type")
        if token_type is not None and (not isinstance(token_type, str) or token_type.lower() not in _BEARER_TYPES):
            raise InvalidToken("the token is not a bearer access token")
        answer.setdefault("iss", self.issuer)  # absent: the issuer we asked is the one that answered
        return answer

    async def _post(self, token: str) -> Any:
        http = self._client()
        if self._endpoint is None:
            metadata = await discover(http, self.issuer)
            self._endpoint = endpoint(metadata, "introspection_endpoint", self.issuer)
        form = {"token": token, "token_type_hint": "access_token"}
        headers = {"Accept": "application/json"}
        if self._auth_method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined and encoded.
            pair = f"{quote_plus(self._client_id)}:{quote_plus(self._client_secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
        fetched = await request_json(http, "POST", self._endpoint, MAX_RESPONSE_BYTES, data=form, headers=headers)
        return fetched.document

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = new_http_client()
        return self._http

    async def aclose(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None


def _with_scopes(verified: VerifiedToken, scopes: Scopes) -> VerifiedToken:
    if scopes:
        needed = required_scopes(scopes)
        if not verified.scopes.issuperset(needed):
            raise InsufficientScope(needed)
    return verified
