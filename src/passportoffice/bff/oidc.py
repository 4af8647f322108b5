"""The BFF as a confidential OpenID Connect client: OIDC Core §3.1 (code flow), RFC 7636 (PKCE S256),
RFC 9207 (`iss` in the authorization response), RFC 6749 §2.3.1 (client_secret_basic), §6 (refresh),
RFC 7009 (revocation), Back-Channel Logout 1.0 §2.6 (logout token validation).

Signatures and the standard claims (`iss` exact, `aud`, `exp`/`iat` with leeway, algorithms from the
key, keys only from the issuer's JWKS) are checked by `passportoffice.guard`'s verifier; this module
adds what is particular to ID tokens (nonce, azp, K23) and logout tokens (events, no nonce, typ).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import anyio
import httpx

from passportoffice.bff.client_assertion import ClientAssertion
from passportoffice.bff.settings import BffSettings
from passportoffice.guard.discovery import discover, endpoint
from passportoffice.guard.errors import InvalidToken
from passportoffice.guard.fetch import FetchError
from passportoffice.guard.verifier import TokenVerifier
from passportoffice.protocol.claims import BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYP
from passportoffice.protocol.secrets import constant_time_equals

__all__ = ["OidcClient", "ProviderError", "ProviderRejected", "TokenSet", "pkce_challenge"]

MAX_RESPONSE_BYTES = 64 * 1024
MAX_LOGOUT_TOKEN_LENGTH = 8192


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense (the message is safe to log)."""


class ProviderRejected(ProviderError):
    """The provider answered with an OAuth error (`error` is its code, e.g. invalid_grant)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"the provider answered {status} {error}")
        self.status = status
        self.error = error


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    expires_at: int
    refresh_token: str | None
    id_token: str | None


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    def __init__(self, settings: BffSettings, http: httpx.AsyncClient, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._lock = anyio.Lock()
        self._id_tokens: TokenVerifier | None = None
        self._assertion = ClientAssertion(settings)
        self._logout_tokens: TokenVerifier | None = None

    async def metadata(self) -> dict[str, Any]:
        """The provider's metadata, fetched once (OIDC Discovery §4; its issuer must match exactly)."""
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    try:
                        metadata = await discover(self._http, self._settings.issuer)
                        jwks_uri = endpoint(metadata, "jwks_uri", self._settings.issuer)
                    except FetchError as exc:
                        raise ProviderError(str(exc)) from None
                    options: dict[str, Any] = {
                        "jwks_uri": jwks_uri,
                        "http_client": self._http,
                        "leeway": self._settings.leeway,
                    }
                    # The nonce binds an ID token to this login; any other JWT of the issuer lacks it.
                    self._id_tokens = TokenVerifier(
                        self._settings.issuer, self._settings.client_id, required_token_type=None, **options
                    )
                    self._logout_tokens = TokenVerifier(
                        self._settings.issuer,
                        self._settings.client_id,
                        required_token_type=LOGOUT_TOKEN_TYP,
                        max_token_length=MAX_LOGOUT_TOKEN_LENGTH,
                        **options,
                    )
                    self._metadata = metadata
        return self._metadata

    async def endpoint(self, name: str) -> str:
        try:
            return endpoint(await self.metadata(), name, self._settings.issuer)
        except FetchError as exc:
            raise ProviderError(str(exc)) from None

    async def authorization_url(self, *, state: str, nonce: str, verifier: str) -> str:
        settings = self._settings
        query = {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": settings.redirect_uri,
            "scope": settings.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return (await self.endpoint("authorization_endpoint")) + "?" + urlencode(query)

    async def requires_iss(self) -> bool:
        return (await self.metadata()).get("authorization_response_iss_parameter_supported") is True

    async def redeem(self, code: str, verifier: str) -> TokenSet:
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._settings.redirect_uri,
                "code_verifier": verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def revoke(self, refresh_token: str) -> None:
        """RFC 7009 §2.1; a failure is the caller's to log, the session ends either way."""
        url = await self.endpoint("revocation_endpoint")
        await self._post(url, {"token": refresh_token, "token_type_hint": "refresh_token"})

    async def end_session_url(self, state: str) -> str | None:
        """RP-Initiated Logout §2: identified by client_id, so no ID token ever reaches the browser."""
        metadata = await self.metadata()
        if "end_session_endpoint" not in metadata:
            return None
        query = {
            "client_id": self._settings.client_id,
            "post_logout_redirect_uri": self._settings.base_url + "/",
            "state": state,
        }
        return (await self.endpoint("end_session_endpoint")) + "?" + urlencode(query)

    async def verify_id_token(self, id_token: str, nonce: str, now: float) -> dict[str, Any]:
        """OIDC Core §3.1.3.7: the guard's checks, then nonce (constant time), azp with several audiences."""
        await self.metadata()
        assert self._id_tokens is not None
        claims = dict((await self._id_tokens.verify(id_token)).claims)
        if not isinstance(claims.get("nonce"), str) or not constant_time_equals(claims["nonce"], nonce):
            raise InvalidToken("the ID token's nonce does not match the login")
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self._settings.client_id:
            raise InvalidToken("the ID token has several audiences and no matching azp")  # K23
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken("the ID token has no subject")
        if claims.get("iat") is None:
            raise InvalidToken("the ID token has no issue time")
        return claims

    async def verify_logout_token(self, logout_token: str) -> dict[str, Any]:
        """Back-Channel Logout 1.0 §2.6 (the jti replay check is the caller's, against the store)."""
        await self.metadata()
        assert self._logout_tokens is not None
        claims = dict((await self._logout_tokens.verify(logout_token)).claims)
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
            raise InvalidToken("the logout token has no back-channel logout event")
        if "nonce" in claims:
            raise InvalidToken("a logout token must not carry a nonce")
        sub, sid = claims.get("sub"), claims.get("sid")
        if (sub is None and sid is None) or any(v is not None and not isinstance(v, str) for v in (sub, sid)):
            raise InvalidToken("the logout token names no subject or session")
        if not isinstance(claims.get("jti"), str) or not claims["jti"] or len(claims["jti"]) > 255:
            raise InvalidToken("the logout token has no jti")
        if claims.get("iat") is None:
            raise InvalidToken("the logout token has no issue time")
        return claims

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        url = await self.endpoint("token_endpoint")
        body = await self._post(url, form)
        access_token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(access_token, str) or body.get("token_type", "").lower() != "bearer":
            raise ProviderError("the token response has no bearer access token")
        if not isinstance(expires_in, int) or expires_in <= 0:
            expires_in = 300  # RFC 6749 §5.1 makes it optional; assume short rather than forever
        refresh_token, id_token = body.get("refresh_token"), body.get("id_token")
        now = int(self._clock())
        return TokenSet(
            access_token=access_token,
            expires_at=now + expires_in,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )

    async def _post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        settings = self._settings
        headers = {"Accept": "application/json"}
        if settings.client_secret is not None:
            # RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
            pair = f"{quote_plus(settings.client_id)}:{quote_plus(settings.client_secret.get_secret_value())}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            # The wall clock, not self._clock: the provider checks the assertion's iat/exp against its own.
            form = {**form, "client_id": settings.client_id, **self._assertion.form(url, int(time.time()))}
        try:
            async with self._http.stream(
                "POST", url, data=form, headers=headers, timeout=settings.provider_timeout
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise ProviderError(f"{url} answered with too large a body")
                status = response.status_code
        except httpx.HTTPError as exc:
            raise ProviderError(f"{url} could not be reached ({type(exc).__name__})") from None
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            raise ProviderError(f"{url} answered {status} without JSON") from None
        if status != 200:
            error = document.get("error") if isinstance(document, dict) else None
            raise ProviderRejected(status, error if isinstance(error, str) else "unknown_error")
        if not isinstance(document, dict):
            raise ProviderError(f"{url} answered with a JSON value that is not an object")
        return document
