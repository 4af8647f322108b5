"""Client authentication at the token endpoint: RFC 6749 §2.3, §3.2.1, §5.2; RFC 7523 §2.2, §3 (private_key_jwt)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from passportoffice.protocol import secrets as secret_rules
from passportoffice.provider import client_auth
from tests.support.flows import basic_auth, challenge, new_token, sign_assertion

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Every character RFC 6749 §2.3.1 says must be form-urlencoded, plus non-ASCII.
ODD_SECRET = "p@ss:w%rd+ &=/?é~"


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def service(flows):
    """A confidential client for the client_credentials grant, authenticating with a secret."""
    return await flows.add_client(
        "service", secret=ODD_SECRET, redirect_uris=(), grant_types=("client_credentials",), scopes=("notes:read",)
    )


@pytest.fixture
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def jwt_client(flows, rsa_key):
    """A client that authenticates with private_key_jwt; its public JWKS is registered with the provider."""
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update(kid="client-key-1", alg="RS256", use="sig")
    return await flows.add_client(
        "jwt-client",
        token_endpoint_auth_method="private_key_jwt",
        redirect_uris=(),
        grant_types=("client_credentials",),
        scopes=("notes:read",),
        jwks={"keys": [jwk]},
    )


def assertion_claims(provider, **overrides):
    now = provider.now()
    claims = {
        "iss": "jwt-client",
        "sub": "jwt-client",
        "aud": ISSUER + "/token",
        "iat": now,
        "exp": now + 60,
        "jti": new_token(16),
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def with_assertion(assertion: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }


async def client_credentials(http, headers=None, **data):
    return await http.post("/token", data={"grant_type": "client_credentials", **data}, headers=headers or {})


async def test_client_secret_basic_with_form_urlencoded_credentials(flows, service):
    """client_secret_basic: a secret with reserved and non-ASCII characters, form-urlencoded, authenticates."""
    response = await client_credentials(flows.http, headers=basic_auth("service", ODD_SECRET))
    assert response.status_code == 200, response.text


async def test_client_secret_post(flows, service):
    """client_secret_post: the secret in the form body authenticates."""
    response = await client_credentials(flows.http, client_id="service", client_secret=ODD_SECRET)
    assert response.status_code == 200, response.text


async def test_two_authentication_methods_are_invalid_request(flows, service):
    """RFC 6749 §2.3: a client must not use more than one authentication method in a request."""
    response = await client_credentials(
        flows.http, headers=basic_auth("service", ODD_SECRET), client_id="service", client_secret=ODD_SECRET
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_unknown_client_with_basic_auth_is_401_with_basic_challenge(flows, service):
    """An unknown client trying Basic gets 401 invalid_client and `WWW-Authenticate: Basic` (RFC 6749 §5.2)."""
    response = await client_credentials(flows.http, headers=basic_auth("nobody", ODD_SECRET))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert challenge(response.headers["www-authenticate"])[0] == "Basic"


async def test_unknown_client_without_secret_is_401(flows):
    """An unknown client_id with no credentials is 401 invalid_client."""
    response = await client_credentials(flows.http, client_id="nobody")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # RFC 9110 §15.5.2: a 401 always carries a challenge, whatever method the client tried.
    assert challenge(response.headers["www-authenticate"])[0] == "Basic"


async def test_no_client_at_all_is_401(flows):
    """A token request that names no client is 401 invalid_client."""
    response = await client_credentials(flows.http)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # RFC 9110 §15.5.2: a 401 always carries a challenge, whatever method the client tried.
    assert challenge(response.headers["www-authenticate"])[0] == "Basic"


async def test_wrong_secret_with_basic_auth_is_401_with_basic_challenge(flows, service):
    """A wrong secret in Basic is 401 invalid_client with a Basic challenge."""
    response = await client_credentials(flows.http, headers=basic_auth("service", ODD_SECRET + "x"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert challenge(response.headers["www-authenticate"])[0] == "Basic"


async def test_wrong_secret_in_the_body_is_401(flows, service):
    """A wrong client_secret in the body is 401 invalid_client."""
    response = await client_credentials(flows.http, client_id="service", client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # RFC 9110 §15.5.2: a 401 always carries a challenge, whatever method the client tried.
    assert challenge(response.headers["www-authenticate"])[0] == "Basic"


async def test_secret_without_form_decoding_does_not_match(flows, service):
    """The Basic credentials are form-decoded: an unencoded `+` means a space, so the raw secret fails."""
    pair = ("service:" + ODD_SECRET).encode()
    header = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    response = await client_credentials(flows.http, headers=header)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("value", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode()])
async def test_malformed_basic_credentials_are_401(flows, service, value):
    """Basic credentials that are not base64 of `id:secret` are 401 invalid_client, never a 500."""
    response = await client_credentials(flows.http, headers={"Authorization": value})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_basic_and_body_client_id_must_agree(flows, service):
    """A body client_id that names another client than the Basic credentials is invalid_request."""
    response = await client_credentials(flows.http, headers=basic_auth("service", ODD_SECRET), client_id="other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_public_client_sending_a_secret_is_401(flows, alice):
    """A public client has no secret, so any secret it sends fails authentication."""
    await flows.add_client()
    response = await flows.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": "spa", "client_secret": "x"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_k27_confidential_client_with_pkce_but_no_secret_is_401(flows, alice):
    """K27: a confidential client sending a valid code_verifier but no secret is 401 invalid_client."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff")
    response = await flows.exchange(auth, client_id="bff")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # The failed attempt did not reach the code: with the secret it still redeems.
    ok = await flows.exchange(auth, client_id="bff", headers=basic_auth("bff", "bff-secret"))
    assert ok.status_code == 200, ok.text


async def test_k28_secrets_are_compared_with_the_constant_time_helper(flows, provider, service, monkeypatch):
    """K28: client secrets are checked by constant_time_equals over keyed hashes, for known and unknown clients."""
    calls = []

    def recording(a: str, b: str) -> bool:
        calls.append((a, b))
        return secret_rules.constant_time_equals(a, b)

    monkeypatch.setattr(client_auth, "constant_time_equals", recording)
    ok = await client_credentials(flows.http, headers=basic_auth("service", ODD_SECRET))
    assert ok.status_code == 200
    assert calls == [(provider.hash(ODD_SECRET), service.secret_hash)]
    calls.clear()
    wrong = await client_credentials(flows.http, client_id="service", client_secret="guess")
    assert wrong.status_code == 401
    assert calls == [(provider.hash("guess"), service.secret_hash)]
    calls.clear()
    unknown = await client_credentials(flows.http, client_id="nobody", client_secret="guess")
    assert unknown.status_code == 401
    assert len(calls) == 1


async def test_secret_client_registered_for_another_method_is_401(flows, rsa_key, jwt_client):
    """A client registered for private_key_jwt cannot authenticate with a client secret instead."""
    response = await client_credentials(flows.http, client_id="jwt-client", client_secret="anything")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_private_key_jwt_authenticates(flows, provider, rsa_key, jwt_client):
    """RFC 7523 §2.2: a fresh assertion signed with the registered key authenticates the client."""
    assertion = sign_assertion(rsa_key, "client-key-1", assertion_claims(provider))
    response = await flows.http.post("/token", data=with_assertion(assertion))
    assert response.status_code == 200, response.text


async def test_private_key_jwt_accepts_the_issuer_as_audience(flows, provider, rsa_key, jwt_client):
    """The issuer identifier is also a valid assertion audience (RFC 7523 §3)."""
    assertion = sign_assertion(rsa_key, "client-key-1", assertion_claims(provider, aud=ISSUER))
    response = await flows.http.post("/token", data=with_assertion(assertion))
    assert response.status_code == 200, response.text


async def test_k26_replayed_assertion_is_401(flows, provider, rsa_key, jwt_client):
    """K26: the same assertion (same jti) used a second time before it expires is 401 invalid_client."""
    assertion = sign_assertion(rsa_key, "client-key-1", assertion_claims(provider))
    first = await flows.http.post("/token", data=with_assertion(assertion))
    assert first.status_code == 200, first.text
    replay = await flows.http.post("/token", data=with_assertion(assertion))
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"


async def test_k26_reused_jti_in_a_new_assertion_is_401(flows, provider, rsa_key, jwt_client):
    """K26: a freshly signed assertion that repeats a seen jti is refused too."""
    claims = assertion_claims(provider)
    first = await flows.http.post("/token", data=with_assertion(sign_assertion(rsa_key, "client-key-1", claims)))
    assert first.status_code == 200, first.text
    again = sign_assertion(rsa_key, "client-key-1", {**claims, "exp": claims["exp"] + 1})
    response = await flows.http.post("/token", data=with_assertion(again))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_k26_assertion_without_jti_is_401(flows, provider, rsa_key, jwt_client):
    """K26: an assertion without jti cannot be checked for replay, so it is invalid_client."""
    assertion = sign_assertion(rsa_key, "client-key-1", assertion_claims(provider, jti=None))
    response = await flows.http.post("/token", data=with_assertion(assertion))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://other.example/token"},
        {"exp": -120},
        {"exp": 3600},
        {"iss": "someone-else"},
    ],
    ids=["foreign-audience", "expired", "long-lived", "iss-not-sub"],
)
async def test_invalid_assertions_are_401(flows, provider, rsa_key, jwt_client, overrides):
    """Assertions for another audience, expired, too long-lived, or with iss ≠ sub are invalid_client."""
    if "exp" in overrides:
        overrides = {"exp": provider.now() + overrides["exp"]}
    assertion = sign_assertion(rsa_key, "client-key-1", assertion_claims(provider, **overrides))
    response = await flows.http.post("/token", data=with_assertion(assertion))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_assertion_signed_with_another_key_is_401(flows, provider, jwt_client):
    """An assertion signed by a key the client did not register is invalid_client."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assertion = sign_assertion(stranger, "client-key-1", assertion_claims(provider))
    response = await flows.http.post("/token", data=with_assertion(assertion))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_hmac_assertion_is_401(flows, provider, rsa_key, jwt_client):
    """The algorithm comes from the registered RSA key, never the header: an HS256 assertion is refused."""
    assertion = jwt.encode(assertion_claims(provider), "k" * 32, algorithm="HS256", headers={"kid": "client-key-1"})
    response = await flows.http.post("/token", data=with_assertion(assertion))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_wrong_assertion_type_is_401(flows, provider, rsa_key, jwt_client):
    """client_assertion_type must be the JWT bearer URN (RFC 7523 §2.2)."""
    assertion = sign_assertion(rsa_key, "client-key-1", assertion_claims(provider))
    data = with_assertion(assertion, client_assertion_type="urn:example:other")
    response = await flows.http.post("/token", data=data)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_assertion_for_a_secret_client_is_401(flows, provider, rsa_key, service):
    """A client registered for a secret cannot switch to private_key_jwt."""
    claims = assertion_claims(provider, iss="service", sub="service")
    response = await flows.http.post("/token", data=with_assertion(sign_assertion(rsa_key, "k", claims)))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_missing_grant_type_is_invalid_request(flows, service):
    """A token request without grant_type is invalid_request."""
    response = await flows.http.post("/token", data={}, headers=basic_auth("service", ODD_SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:example:custom"])
async def test_unsupported_grant_types(flows, service, grant_type):
    """The password grant and anything unknown are unsupported_grant_type (RFC 9700 §2.4)."""
    data = {"grant_type": grant_type, "username": "alice", "password": "x"}
    response = await flows.http.post("/token", data=data, headers=basic_auth("service", ODD_SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_grant_not_registered_for_the_client_is_unauthorized_client(flows, alice, service):
    """A client using a grant it is not registered for gets unauthorized_client (RFC 6749 §5.2)."""
    response = await flows.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": "x"}, headers=basic_auth("service", ODD_SECRET)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


async def test_code_flow_client_without_client_credentials_grant_is_unauthorized_client(flows):
    """A public browser client may not use client_credentials."""
    await flows.add_client()
    response = await client_credentials(flows.http, client_id="spa")
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


async def test_token_endpoint_refuses_json_bodies(flows, service):
    """RFC 6749 §3.2: the token request is form-encoded; JSON is invalid_request."""
    response = await flows.http.post(
        "/token", json={"grant_type": "client_credentials"}, headers=basic_auth("service", ODD_SECRET)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_repeated_parameter_is_invalid_request(flows, service):
    """RFC 6749 §3.2: a parameter sent twice is invalid_request."""
    response = await flows.http.post(
        "/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded", **basic_auth("service", ODD_SECRET)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
