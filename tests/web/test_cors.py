"""CORS (Fetch standard) on the endpoints a browser app calls: only registered origins, never credentials (K35)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.flows import basic_auth, bearer, new_token, sign_assertion

pytestmark = pytest.mark.anyio

APP = "https://app.example"
OTHER_APP = "https://other-app.example"
ATTACKER = "https://attacker.example"


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client(origins=(APP,))


@pytest.fixture
async def other(flows):
    return await flows.add_client("other", origins=(OTHER_APP,))


def assert_no_cors(response) -> None:
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


def assert_cors_for(response, origin: str) -> None:
    assert response.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers.get_list("vary")


async def test_k35_token_response_allows_the_clients_registered_origin(flows, alice, spa):
    """K35: a token response to the client's registered origin names exactly that origin, without credentials."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, headers={"Origin": APP})
    assert response.status_code == 200, response.text
    assert_cors_for(response, APP)


async def test_k35_unregistered_origin_gets_no_cors_headers(flows, alice, spa):
    """K35: an Origin the client did not register is never reflected."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, headers={"Origin": ATTACKER})
    assert response.status_code == 200, response.text
    assert_no_cors(response)


async def test_k35_origin_of_another_client_is_not_allowed(flows, alice, spa, other):
    """K35: CORS follows the authenticated client: an origin registered by another client is not allowed."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, headers={"Origin": OTHER_APP})
    assert_no_cors(response)


async def test_k35_forged_assertion_naming_an_origin_gets_no_cors(flows, spa):
    """K35: a bad-signature JWT carrying azp=attacker fails authentication and reflects nothing."""
    claims = {
        "iss": "spa",
        "sub": "spa",
        "aud": "https://idp.example/token",
        "exp": flows.provider.now() + 60,
        "jti": new_token(16),
        "azp": ATTACKER,
    }
    forged = sign_assertion(rsa.generate_private_key(public_exponent=65537, key_size=2048), "k", claims)
    response = await flows.http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": forged,
        },
        headers={"Origin": ATTACKER},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert_no_cors(response)


async def test_failed_client_authentication_gets_no_cors_even_from_a_registered_origin(flows, spa):
    """CORS headers are computed only after the client is authenticated."""
    data = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "nobody"}
    response = await flows.http.post("/token", data=data, headers={"Origin": APP})
    assert response.status_code == 401
    assert_no_cors(response)


async def test_grant_error_for_an_authenticated_client_is_readable_by_its_app(flows, alice, spa):
    """An invalid_grant for an authenticated client carries its origin, so the app can read the error."""
    response = await flows.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": "x" * 43, "client_id": "spa"},
        headers={"Origin": APP},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert_cors_for(response, APP)


@pytest.mark.parametrize("path", ["/token", "/userinfo", "/revoke"])
async def test_k35_preflight_allows_only_registered_origins(flows, spa, path):
    """K35: a preflight from a registered origin is allowed without credentials; any other origin is not."""
    headers = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = await flows.http.options(path, headers={"Origin": APP, **headers})
    assert allowed.status_code == 204
    assert_cors_for(allowed, APP)
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()
    refused = await flows.http.options(path, headers={"Origin": ATTACKER, **headers})
    assert_no_cors(refused)


async def test_userinfo_allows_the_token_clients_origin(flows, alice, spa):
    """Userinfo answers with CORS for the origin registered by the client the token was issued to."""
    tokens = await flows.tokens()
    allowed = await flows.http.get("/userinfo", headers={"Origin": APP, **bearer(tokens["access_token"])})
    assert allowed.status_code == 200
    assert_cors_for(allowed, APP)
    refused = await flows.http.get("/userinfo", headers={"Origin": ATTACKER, **bearer(tokens["access_token"])})
    assert_no_cors(refused)


async def test_revocation_allows_the_clients_origin(flows, alice, spa):
    """A browser app may revoke its own tokens cross-origin from its registered origin."""
    tokens = await flows.tokens()
    response = await flows.http.post(
        "/revoke", data={"token": tokens["refresh_token"], "client_id": "spa"}, headers={"Origin": APP}
    )
    assert response.status_code == 200
    assert_cors_for(response, APP)


async def test_authorization_endpoint_never_gets_cors(flows, alice, spa):
    """The authorization endpoint is a navigation, never a fetch: no CORS headers, no preflight route."""
    response = await flows.http.get("/authorize", params={"client_id": "spa"}, headers={"Origin": APP})
    assert_no_cors(response)
    preflight = await flows.http.options("/authorize", headers={"Origin": APP, "Access-Control-Request-Method": "GET"})
    assert_no_cors(preflight)


async def test_introspection_never_gets_cors(flows, alice, spa):
    """Introspection is for servers: even a registered origin gets no CORS headers."""
    await flows.add_client(
        "rs", secret="rs-secret", redirect_uris=(), grant_types=("client_credentials",), origins=(APP,)
    )
    tokens = await flows.tokens()
    response = await flows.http.post(
        "/introspect", data={"token": tokens["access_token"]}, headers={"Origin": APP, **basic_auth("rs", "rs-secret")}
    )
    assert response.json()["active"] is True
    assert_no_cors(response)
