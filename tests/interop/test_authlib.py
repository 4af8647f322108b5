"""Authlib's httpx OAuth client as the relying party: code + PKCE S256, ID token, refresh rotation, client credentials.

Tokens are verified the way Authlib itself verifies them (`AsyncOpenIDMixin.parse_id_token`): joserfc, the
JOSE library Authlib 1.9 is built on, with the keys published at `jwks_uri`, then Authlib's `CodeIDToken`
and RFC 9068 `JWTAccessTokenClaims` rules. Authlib's OAuth client has no RFC 9207 support, so the
authorization response's `iss` is checked here, as an application using it would.
"""

from __future__ import annotations

import secrets
from typing import Any

import anyio
import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oauth2 import rfc9207
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from authlib.oidc import rpinitiated
from authlib.oidc.core import CodeIDToken, UserInfo
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.interop.conftest import (
    API_AUDIENCE,
    EMAIL,
    NAME,
    SCOPE,
    SERVICE_SCOPE,
    InteropClient,
    InteropServer,
    browser_login,
)

pytestmark = pytest.mark.anyio

# OIDC Registration §2: a client that registered no id_token_signed_response_alg expects RS256.
ID_TOKEN_ALGORITHMS = ["RS256"]
# RFC 9068 §4: the resource server pins asymmetric algorithms; never "none" or HMAC.
ACCESS_TOKEN_ALGORITHMS = ["ES256", "RS256"]


@pytest.fixture(scope="module")
def metadata(interop_server: InteropServer) -> dict[str, Any]:
    """The discovery document, accepted by Authlib's RFC 8414 / OIDC Discovery / RFC 9207 validators."""
    document: dict[str, Any] = httpx.get(interop_server.issuer + "/.well-known/openid-configuration").json()
    OpenIDProviderMetadata(document).validate(
        metadata_classes=[rfc9207.AuthorizationServerMetadata, rpinitiated.OpenIDProviderMetadata]
    )
    assert document["issuer"] == interop_server.issuer
    assert document["authorization_response_iss_parameter_supported"] is True
    return document


def oauth_client(server: InteropServer, client: InteropClient, **extra: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.secret,
        token_endpoint_auth_method=extra.pop("auth_method", client.auth_method),
        redirect_uri=server.redirect_uri,
        code_challenge_method="S256",
        **extra,
    )


async def key_set(oauth: AsyncOAuth2Client, metadata: dict[str, Any]) -> KeySet:
    response = await oauth.request("GET", metadata["jwks_uri"], withhold_token=True)
    assert response.status_code == 200
    return KeySet.import_key_set(response.json())


def verified_id_token(
    token: dict[str, Any], keys: KeySet, *, issuer: str, client_id: str, nonce: str | None
) -> CodeIDToken:
    decoded = jwt.decode(token["id_token"], keys, algorithms=ID_TOKEN_ALGORITHMS)
    options = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}}
    params = {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]}
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    claims.validate()
    return claims


def verified_access_token(access_token: str, keys: KeySet, *, issuer: str, audience: str) -> JWTAccessTokenClaims:
    decoded = jwt.decode(access_token, keys, algorithms=ACCESS_TOKEN_ALGORITHMS)
    assert decoded.header["typ"] == "at+jwt"  # RFC 9068 §2.1; Authlib only checks it when present
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": audience},
        **{name: {"essential": True} for name in ("sub", "exp", "iat", "jti", "client_id")},
    }
    claims = JWTAccessTokenClaims(decoded.claims, decoded.header, options)
    claims.validate()
    return claims


async def sign_in(
    oauth: AsyncOAuth2Client, server: InteropServer, metadata: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Authorization request with PKCE S256 and a nonce, the browser's part, then the code redemption."""
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = oauth.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, scope=SCOPE
    )
    callback = await anyio.to_thread.run_sync(browser_login, url, server.redirect_uri)
    assert httpx.URL(callback).params["iss"] == server.issuer  # RFC 9207 §2.4
    token: dict[str, Any] = await oauth.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
    )
    return token, nonce


@pytest.mark.parametrize("which", ["public", "basic", "post"])
async def test_authlib_code_flow_with_pkce_gives_a_valid_id_token_and_rotating_refresh_tokens(
    interop_server: InteropServer, metadata: dict[str, Any], which: str
) -> None:
    """Code + PKCE S256, an ID token that passes CodeIDToken against /jwks, then rotation and reuse detection."""
    client: InteropClient = getattr(interop_server, which)
    issuer = interop_server.issuer
    async with oauth_client(interop_server, client) as oauth:
        keys = await key_set(oauth, metadata)
        token, nonce = await sign_in(oauth, interop_server, metadata)
        assert token["token_type"].lower() == "bearer"
        assert set(token["scope"].split()) == set(SCOPE.split())

        claims = verified_id_token(token, keys, issuer=issuer, client_id=client.client_id, nonce=nonce)
        assert claims["sub"] == interop_server.sub
        assert claims["nonce"] == nonce
        assert "at_hash" in claims  # CodeIDToken checks it only when present; we always send it
        assert (claims["email"], claims["name"]) == (EMAIL, NAME)
        # RFC 9068 §3: the client's default API, else the provider itself (its userinfo endpoint).
        audience = client.audience or issuer
        access = verified_access_token(token["access_token"], keys, issuer=issuer, audience=audience)
        assert (access["sub"], access["client_id"]) == (interop_server.sub, client.client_id)

        response = await oauth.get(metadata["userinfo_endpoint"])
        assert response.status_code == 200
        userinfo = UserInfo(response.json())
        assert (userinfo["sub"], userinfo["email"]) == (interop_server.sub, EMAIL)

        first = await oauth.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
        second = await oauth.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
        chain = [token["refresh_token"], first["refresh_token"], second["refresh_token"]]
        assert len(set(chain)) == 3, "every refresh rotates the refresh token"
        for refreshed in (first, second):
            # OIDC Core §12.2: same iss, sub, aud and auth_time as the original ID token.
            again = verified_id_token(refreshed, keys, issuer=issuer, client_id=client.client_id, nonce=None)
            assert (again["sub"], again["auth_time"]) == (claims["sub"], claims["auth_time"])

        # The immediate predecessor again, within the reuse window: the same successor, nobody logged out.
        replayed = await oauth.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
        assert replayed["refresh_token"] == second["refresh_token"]

        # An older rotated token again: the family is compromised and revoked (RFC 9700 §4.14.2).
        with pytest.raises(OAuthError) as reused:
            await oauth.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
        assert reused.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as family:
            await oauth.refresh_token(metadata["token_endpoint"], refresh_token=second["refresh_token"])
        assert family.value.error == "invalid_grant"


@pytest.mark.parametrize("which", ["basic", "post"])
async def test_authlib_client_credentials_with_client_secret(
    interop_server: InteropServer, metadata: dict[str, Any], which: str
) -> None:
    """client_secret_basic and client_secret_post both get an RFC 9068 access token for the client itself."""
    client: InteropClient = getattr(interop_server, which)
    async with oauth_client(interop_server, client, scope=SERVICE_SCOPE) as oauth:
        token = await oauth.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
        assert token["token_type"].lower() == "bearer"
        assert token["scope"] == SERVICE_SCOPE
        assert "refresh_token" not in token  # RFC 6749 §4.4.3
        keys = await key_set(oauth, metadata)
    claims = verified_access_token(token["access_token"], keys, issuer=interop_server.issuer, audience=API_AUDIENCE)
    assert (claims["sub"], claims["client_id"]) == (client.client_id, client.client_id)
    assert claims["scope"] == SERVICE_SCOPE


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_client_credentials_with_a_wrong_secret_is_invalid_client(
    interop_server: InteropServer, metadata: dict[str, Any], auth_method: str
) -> None:
    """A wrong secret, sent either way, is `invalid_client` (RFC 6749 §5.2)."""
    wrong = InteropClient(interop_server.basic.client_id, auth_method, "not-" + (interop_server.basic.secret or ""))
    async with oauth_client(interop_server, wrong, scope=SERVICE_SCOPE) as oauth:
        with pytest.raises(OAuthError) as refused:
            await oauth.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert refused.value.error == "invalid_client"
