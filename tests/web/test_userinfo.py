"""UserInfo endpoint: OIDC Core §5.3; Bearer token usage and errors per RFC 6750 §2.1, §3."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.flows import bearer, challenge

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client()


def assert_bearer_error(response, status: int, error: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    scheme, params = challenge(response.headers["www-authenticate"])
    assert scheme == "Bearer"
    assert params["error"] == error
    return params


async def test_userinfo_get_returns_claims_by_scope(flows, alice, spa):
    """GET with a Bearer token returns sub and the profile and email claims the scope allows, not stored."""
    tokens = await flows.tokens()
    response = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "sub": alice.id,
        "preferred_username": "alice",
        "name": "Alice",
        "email": "alice@example.com",
        "email_verified": True,
    }
    assert response.json()["sub"] == jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"]


async def test_userinfo_post_works_like_get(flows, alice, spa):
    """POST with a Bearer token is answered like GET (OIDC Core §5.3.1)."""
    tokens = await flows.tokens()
    response = await flows.http.post("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == alice.id


async def test_userinfo_with_openid_only_returns_just_sub(flows, alice, spa):
    """With only the openid scope, userinfo releases nothing but sub."""
    tokens = await flows.tokens(scope="openid")
    response = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.json() == {"sub": alice.id}


async def test_missing_token_is_401_with_a_bare_bearer_challenge(flows):
    """RFC 6750 §3.1: no credentials at all is 401 with `WWW-Authenticate: Bearer realm=...` and no error code."""
    for method in ("GET", "POST"):
        response = await flows.http.request(method, "/userinfo")
        assert response.status_code == 401
        scheme, params = challenge(response.headers["www-authenticate"])
        assert scheme == "Bearer"
        assert params == {"realm": "passportoffice"}


async def test_malformed_authorization_header_is_invalid_request(flows):
    """RFC 6750 §3.1: a malformed Bearer header is 400 invalid_request, named in the Bearer challenge."""
    response = await flows.http.get("/userinfo", headers={"Authorization": "Bearer a b"})
    assert_bearer_error(response, 400, "invalid_request")
    assert response.json()["error"] == "invalid_request"


async def test_garbage_token_is_401_invalid_token(flows):
    """A token that is not one of ours is 401 invalid_token."""
    response = await flows.http.get("/userinfo", headers=bearer("not-a-token"))
    assert_bearer_error(response, 401, "invalid_token")
    assert response.json()["error"] == "invalid_token"


async def test_expired_token_is_401_invalid_token(flows, provider, clock, alice, spa):
    """An access token past its exp is 401 invalid_token."""
    tokens = await flows.tokens()
    clock.advance(provider.settings.access_token_ttl)
    response = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(response, 401, "invalid_token")


async def test_k24_id_token_is_not_accepted_as_an_access_token(flows, alice, spa):
    """K24: the ID token (typ JWT), signed by the same keys, is 401 invalid_token at userinfo."""
    tokens = await flows.tokens()
    response = await flows.http.get("/userinfo", headers=bearer(tokens["id_token"]))
    assert_bearer_error(response, 401, "invalid_token")


async def test_token_signed_by_a_foreign_key_is_401(flows, alice, spa):
    """A well-formed at+jwt with our kid but another key's signature is 401 invalid_token."""
    tokens = await flows.tokens()
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)
    response = await flows.http.get("/userinfo", headers=bearer(forged))
    assert_bearer_error(response, 401, "invalid_token")


async def test_token_without_openid_scope_is_403_insufficient_scope(flows, alice, spa):
    """RFC 6750 §3.1: a valid token without the openid scope is 403 insufficient_scope naming openid."""
    tokens = await flows.tokens(scope="notes:read")
    response = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    params = assert_bearer_error(response, 403, "insufficient_scope")
    assert params["scope"] == "openid"
    assert response.json()["error"] == "insufficient_scope"


async def test_disabled_user_token_is_401(flows, provider, alice, spa):
    """Disabling the user makes its live access tokens invalid at userinfo at once."""
    tokens = await flows.tokens()
    await provider.storage.set_user_disabled(alice.username_key, True)
    response = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(response, 401, "invalid_token")


async def test_ended_session_token_is_401(flows, provider, alice, spa):
    """Logout revokes the grant, and with it the access tokens minted from it (K33)."""
    tokens = await flows.tokens()
    sid = jwt.decode(tokens["id_token"], options={"verify_signature": False})["sid"]
    await provider.storage.end_session(sid, provider.now())
    response = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(response, 401, "invalid_token")


async def test_k40_huge_token_is_401_not_500(flows):
    """K40: a 20 kB bearer token is refused on size as 401 invalid_token, never a 500."""
    huge = "eyJ" + "A" * 20_000 + ".eyJ9.c2ln"
    response = await flows.http.get("/userinfo", headers=bearer(huge))
    assert_bearer_error(response, 401, "invalid_token")
