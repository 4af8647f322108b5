"""Token revocation: RFC 7009 §2.1-§2.2. A refresh token revokes its whole family, an access token its jti."""

from __future__ import annotations

import pytest

from tests.support.flows import BackChannel, basic_auth, bearer, challenge

pytestmark = pytest.mark.anyio

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


async def assert_userinfo_rejects(flows, access_token: str) -> None:
    response = await flows.http.get("/userinfo", headers=bearer(access_token))
    assert response.status_code == 401
    scheme, params = challenge(response.headers["www-authenticate"])
    assert (scheme, params["error"]) == ("Bearer", "invalid_token")


async def test_revoking_a_refresh_token_revokes_its_family(flows, back, alice, spa, rs):
    """RFC 7009 §2.1: revoking the current refresh token kills it, its predecessors' ATs and the new AT."""
    tokens = await flows.tokens()
    refreshed = (await flows.refresh(tokens["refresh_token"])).json()
    response = await back.revoke(refreshed["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"

    again = await flows.refresh(refreshed["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    for access_token in (tokens["access_token"], refreshed["access_token"]):
        assert (await back.introspect(access_token)).json() == INACTIVE
        await assert_userinfo_rejects(flows, access_token)


async def test_revoking_a_refresh_token_leaves_other_families_alone(flows, back, alice, spa):
    """Revoking one family (one tab's login) does not touch another family of the same user and client."""
    first = await flows.tokens()
    second = await flows.tokens()
    assert (await back.revoke(first["refresh_token"])).status_code == 200
    response = await flows.refresh(second["refresh_token"])
    assert response.status_code == 200, response.text


async def test_revoking_an_access_token_makes_userinfo_401(flows, back, alice, spa, rs):
    """A revoked access token is rejected at userinfo and introspects as inactive."""
    tokens = await flows.tokens()
    response = await back.revoke(tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200
    await assert_userinfo_rejects(flows, tokens["access_token"])
    assert (await back.introspect(tokens["access_token"])).json() == INACTIVE


async def test_revoking_an_access_token_without_hint(flows, back, alice, spa):
    """The hint is optional: an access token sent without one is found and revoked."""
    tokens = await flows.tokens()
    assert (await back.revoke(tokens["access_token"])).status_code == 200
    await assert_userinfo_rejects(flows, tokens["access_token"])


async def test_revoking_an_access_token_leaves_its_refresh_token(flows, back, alice, spa):
    """Revoking an access token revokes that token only; its refresh token family stays usable."""
    tokens = await flows.tokens()
    assert (await back.revoke(tokens["access_token"])).status_code == 200
    assert (await flows.refresh(tokens["refresh_token"])).status_code == 200


async def test_wrong_hint_still_revokes_a_refresh_token(flows, back, alice, spa):
    """RFC 7009 §2.1: a wrong token_type_hint only costs a longer search; the refresh token is still revoked."""
    tokens = await flows.tokens()
    response = await back.revoke(tokens["refresh_token"], token_type_hint="access_token")
    assert response.status_code == 200
    refreshed = await flows.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_wrong_hint_still_revokes_an_access_token(flows, back, alice, spa):
    """An access token sent with hint refresh_token is still found and revoked."""
    tokens = await flows.tokens()
    assert (await back.revoke(tokens["access_token"], token_type_hint="refresh_token")).status_code == 200
    await assert_userinfo_rejects(flows, tokens["access_token"])


async def test_revoking_another_clients_refresh_token_is_unauthorized_client(flows, back, alice, spa):
    """A client cannot revoke a refresh token issued to another client; the token stays valid."""
    await flows.add_client("other")
    tokens = await flows.tokens()
    response = await back.revoke(tokens["refresh_token"], client_id="other")
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert (await flows.refresh(tokens["refresh_token"])).status_code == 200


async def test_revoking_another_clients_access_token_is_unauthorized_client(flows, back, alice, spa):
    """A client cannot revoke an access token issued to another client; the token stays valid."""
    await flows.add_client("other")
    tokens = await flows.tokens()
    response = await back.revoke(tokens["access_token"], client_id="other")
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert (await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "a.b.c"], ids=["unknown", "malformed"])
async def test_unknown_or_invalid_token_is_200(back, spa, token):
    """RFC 7009 §2.2: an unknown or malformed token is answered 200, never an error."""
    response = await back.revoke(token)
    assert response.status_code == 200


async def test_k40_huge_token_is_200_not_500(back, spa):
    """K40: a 20 kB token is answered 200 without being decoded, never a 413 or 500."""
    response = await back.revoke("eyJ" + "A" * 20_000 + ".eyJ9.c2ln")
    assert response.status_code == 200


async def test_revoking_twice_is_200(flows, back, alice, spa):
    """Revocation is idempotent."""
    tokens = await flows.tokens()
    assert (await back.revoke(tokens["refresh_token"])).status_code == 200
    assert (await back.revoke(tokens["refresh_token"])).status_code == 200


async def test_confidential_client_must_authenticate_to_revoke(flows, back, alice):
    """RFC 7009 §2.1: a confidential client authenticates; without its secret it is 401 invalid_client."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff")
    tokens = (await flows.exchange(auth, client_id="bff", headers=basic_auth("bff", "bff-secret"))).json()
    denied = await back.revoke(tokens["refresh_token"], client_id="bff")
    assert denied.status_code == 401
    assert denied.json()["error"] == "invalid_client"
    allowed = await flows.http.post(
        "/revoke", data={"token": tokens["refresh_token"]}, headers=basic_auth("bff", "bff-secret")
    )
    assert allowed.status_code == 200


async def test_revocation_without_a_client_is_401(flows):
    """A revocation request that names no client is 401 invalid_client."""
    response = await flows.http.post("/revoke", data={"token": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_missing_token_is_invalid_request(flows, spa):
    """A revocation request without `token` is invalid_request."""
    response = await flows.http.post("/revoke", data={"client_id": "spa"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
