"""Token introspection: RFC 7662 §2.1-§2.3; anything not live is exactly `{"active": false}` (K45)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.flows import BackChannel, basic_auth, new_token

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
INACTIVE = {"active": False}


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client()


@pytest.fixture
async def rs(flows):
    return await flows.add_client(
        "rs", secret="rs-secret", redirect_uris=(), grant_types=("client_credentials",), scopes=("notes:read",)
    )


@pytest.fixture
def back(http):
    return BackChannel(http)


async def test_k45_live_access_token_is_active_with_its_claims(flows, back, alice, spa, rs):
    """K45: a live access token is active, with exp, scope, client_id and sub; the response is not stored."""
    tokens = await flows.tokens()
    response = await back.introspect(tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert body["active"] is True
    assert body["exp"] == claims["exp"]
    assert body["scope"] == "openid profile email"
    assert body["client_id"] == "spa"
    assert body["sub"] == alice.id
    assert body["iss"] == ISSUER
    assert body["token_type"] == "Bearer"
    assert "grant_id" not in body


async def test_k45_access_token_one_second_after_exp_is_inactive(flows, back, provider, clock, alice, spa, rs):
    """K45: introspected one second after exp, the token is exactly {"active": false}."""
    tokens = await flows.tokens()
    clock.advance(provider.settings.access_token_ttl - 1)
    assert (await back.introspect(tokens["access_token"])).json()["active"] is True
    clock.advance(2)
    response = await back.introspect(tokens["access_token"])
    assert response.status_code == 200
    assert response.json() == INACTIVE


async def test_k45_access_token_at_exp_is_inactive(flows, back, provider, clock, alice, spa, rs):
    """RFC 7519 §4.1.4: at the exp second itself the token is no longer accepted."""
    tokens = await flows.tokens()
    exp = jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"]
    clock.advance(exp - provider.now())
    assert (await back.introspect(tokens["access_token"])).json() == INACTIVE


async def test_k45_revoked_access_token_is_inactive(flows, back, alice, spa, rs):
    """K45: a revoked access token is exactly {"active": false}."""
    tokens = await flows.tokens()
    assert (await back.revoke(tokens["access_token"], token_type_hint="access_token")).status_code == 200
    assert (await back.introspect(tokens["access_token"])).json() == INACTIVE


@pytest.mark.parametrize(
    "token",
    [
        "unknown-opaque-token",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "not even close",
    ],
    ids=["unknown", "malformed-jwt", "alg-none", "junk"],
)
async def test_k45_unknown_or_malformed_token_is_inactive(back, rs, token):
    """K45: unknown and malformed tokens are exactly {"active": false}, never an error."""
    response = await back.introspect(token)
    assert response.status_code == 200
    assert response.json() == INACTIVE


async def test_k45_foreign_issuer_token_signed_with_our_key_is_inactive(flows, back, provider, alice, spa, rs):
    """K45: a JWT whose iss is another issuer is inactive even when its signature verifies."""
    tokens = await flows.tokens()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    key = provider.keyring.signing_key("ES256", provider.now())
    forged = jwt.encode(
        {**claims, "iss": "https://other-idp.example"},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    assert (await back.introspect(forged)).json() == INACTIVE


async def test_k45_token_signed_by_a_foreign_key_is_inactive(flows, back, alice, spa, rs):
    """K45: an at+jwt from another issuer's key is inactive."""
    tokens = await flows.tokens()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode(
        claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "x", "typ": "at+jwt"}
    )
    assert (await back.introspect(forged)).json() == INACTIVE


async def test_id_token_is_not_an_active_access_token(flows, back, alice, spa, rs):
    """An ID token (typ JWT) introspects as inactive: it is not an access token (K24)."""
    tokens = await flows.tokens()
    assert (await back.introspect(tokens["id_token"])).json() == INACTIVE


async def test_disabled_user_access_token_is_inactive(flows, back, provider, alice, spa, rs):
    """Disabling the user makes its access tokens inactive before their exp."""
    tokens = await flows.tokens()
    await provider.storage.set_user_disabled(alice.username_key, True)
    assert (await back.introspect(tokens["access_token"])).json() == INACTIVE


async def test_k40_huge_token_is_inactive_not_500(back, rs):
    """K40: a 20 kB token is answered {"active": false} without being decoded."""
    response = await back.introspect("eyJ" + "A" * 20_000 + ".eyJ9.c2ln")
    assert response.status_code == 200
    assert response.json() == INACTIVE


async def test_refresh_token_is_described_to_its_own_client(flows, back, alice):
    """A live refresh token introspected by the client it was issued to is active, typed refresh_token."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff")
    tokens = (await flows.exchange(auth, client_id="bff", headers=basic_auth("bff", "bff-secret"))).json()
    body = (await back.introspect(tokens["refresh_token"], "bff", "bff-secret")).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == "bff"
    assert body["sub"] == alice.id
    assert body["scope"] == "openid profile email"


async def test_refresh_token_is_inactive_for_another_client(flows, back, alice, spa, rs):
    """Refresh tokens are described only to their own client; to anyone else they are inactive."""
    tokens = await flows.tokens()
    assert (await back.introspect(tokens["refresh_token"])).json() == INACTIVE


async def test_rotated_refresh_token_is_inactive(flows, back, alice):
    """A rotated refresh token is no longer active."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff")
    auth_header = basic_auth("bff", "bff-secret")
    tokens = (await flows.exchange(auth, client_id="bff", headers=auth_header)).json()
    refreshed = await flows.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, headers=auth_header
    )
    assert refreshed.status_code == 200, refreshed.text
    assert (await back.introspect(tokens["refresh_token"], "bff", "bff-secret")).json() == INACTIVE
    assert (await back.introspect(refreshed.json()["refresh_token"], "bff", "bff-secret")).json()["active"] is True


async def test_public_client_cannot_introspect(flows, alice, spa):
    """RFC 7662 §2.1: introspection needs an authenticated (confidential) client: a public one is 401."""
    tokens = await flows.tokens()
    response = await flows.http.post("/introspect", data={"token": tokens["access_token"], "client_id": "spa"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_unauthenticated_introspection_is_401(flows, alice, spa):
    """Introspection without any client credentials is 401 invalid_client."""
    tokens = await flows.tokens()
    response = await flows.http.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_wrong_secret_introspection_is_401(back, rs):
    """A resource server with the wrong secret cannot introspect."""
    response = await back.introspect(new_token(), "rs", "wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_missing_token_is_invalid_request(flows, rs):
    """An introspection request without `token` is invalid_request."""
    response = await flows.http.post("/introspect", data={}, headers=basic_auth("rs", "rs-secret"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_refresh_token_of_a_timed_out_session_is_inactive(flows, back, provider, clock, alice):
    """Without offline_access a refresh token dies with its IdP session, and introspection agrees with refresh."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff")
    tokens = (await flows.exchange(auth, client_id="bff", headers=basic_auth("bff", "bff-secret"))).json()
    clock.advance(provider.settings.session_ttl + 1)
    assert (await back.introspect(tokens["refresh_token"], "bff", "bff-secret")).json() == INACTIVE


async def test_offline_refresh_token_outlives_its_session(flows, back, provider, clock, alice):
    """An offline_access refresh token stays active after the IdP session timed out."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff", scope="openid offline_access")
    tokens = (await flows.exchange(auth, client_id="bff", headers=basic_auth("bff", "bff-secret"))).json()
    clock.advance(provider.settings.session_ttl + 1)
    assert (await back.introspect(tokens["refresh_token"], "bff", "bff-secret")).json()["active"] is True
