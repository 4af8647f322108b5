"""Token endpoint, authorization_code grant: RFC 6749 §4.1.3, §5; RFC 7636 §4.6; RFC 9068; OIDC Core §3.1.3."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import jwt
import pytest

from passportoffice.storage.records import AuthorizationCode
from tests.support.flows import BackChannel, basic_auth, bearer, challenge, new_token, query_of, verify_with_jwks

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client()


@pytest.fixture
async def rs(flows):
    """A resource server that may introspect."""
    return await flows.add_client(
        "rs", secret="rs-secret", redirect_uris=(), grant_types=("client_credentials",), scopes=("notes:read",)
    )


async def test_code_exchange_response_is_a_bearer_token_response_with_no_store(flows, alice, spa):
    """A successful exchange is a Bearer token response that caches must not store (RFC 6749 §5.1)."""
    auth = await flows.authorize()
    response = await flows.exchange(auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "openid profile email"


async def test_error_response_has_no_store(flows, alice, spa):
    """A token endpoint error is not cached either."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, data={"code": "nope"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["cache-control"] == "no-store"


async def test_missing_code_is_invalid_request(flows, alice, spa):
    """A request without `code` is malformed (RFC 6749 §5.2 invalid_request)."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, data={"code": None})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_unknown_code_is_invalid_grant(flows, alice, spa):
    """A code the provider never issued is invalid_grant."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, data={"code": new_token()})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_k05_redirect_uri_without_path_matches_itself_byte_for_byte(flows, alice):
    """K05: `http://127.0.0.1:8082` sent identically at /authorize and /token redeems (no normalisation)."""
    await flows.add_client(redirect_uris=("http://127.0.0.1:8082",))
    auth = await flows.authorize(redirect_uri="http://127.0.0.1:8082")
    response = await flows.exchange(auth)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("authorized", "presented"),
    [("http://127.0.0.1:8082", "http://127.0.0.1:8082/"), ("http://127.0.0.1:8082/", "http://127.0.0.1:8082")],
)
async def test_k05_trailing_slash_is_a_different_redirect_uri(flows, alice, authorized, presented):
    """K05: a token request whose redirect_uri differs by a trailing slash is invalid_grant."""
    await flows.add_client(redirect_uris=("http://127.0.0.1:8082", "http://127.0.0.1:8082/"))
    auth = await flows.authorize(redirect_uri=authorized)
    response = await flows.exchange(auth, data={"redirect_uri": presented})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_missing_redirect_uri_is_invalid_grant(flows, alice, spa):
    """The redirect_uri sent at /authorize must be repeated at /token (RFC 6749 §4.1.3)."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, data={"redirect_uri": None})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_k09_missing_verifier_is_invalid_grant_and_the_code_stays_unusable(flows, alice, spa):
    """K09: no code_verifier for a PKCE-bound code is invalid_grant, and the correct one afterwards fails too."""
    auth = await flows.authorize()
    first = await flows.exchange(auth, data={"code_verifier": None})
    assert first.status_code == 400
    assert first.json()["error"] == "invalid_grant"
    retry = await flows.exchange(auth)
    assert retry.status_code == 400
    assert retry.json()["error"] == "invalid_grant"


async def test_wrong_verifier_is_invalid_grant(flows, alice, spa):
    """A code_verifier that does not hash to the challenge is invalid_grant (RFC 7636 §4.6)."""
    auth = await flows.authorize()
    response = await flows.exchange(auth, data={"code_verifier": "x" * 43})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_k10_verifier_for_a_code_without_challenge_is_invalid_grant(flows, provider, alice, spa):
    """K10: a code_verifier sent for a code that has no bound challenge is invalid_grant (RFC 9700 §4.8.2)."""
    auth = await flows.authorize()  # for a live session to bind the forged code to
    stored = await provider.storage.get_code(provider.hash(auth.code))
    code = new_token()
    await provider.storage.add_code(
        AuthorizationCode(
            code_hash=provider.hash(code),
            client_id="spa",
            user_id=alice.id,
            sid=stored.sid,
            redirect_uri=auth.redirect_uri,
            scope="openid",
            audience=(ISSUER,),
            nonce=None,
            code_challenge="",
            auth_time=stored.auth_time,
            amr=("pwd",),
            expires_at=provider.now() + 60,
        )
    )
    response = await flows.exchange(auth, data={"code": code})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_k11_second_exchange_fails_and_revokes_every_token_from_the_code(flows, alice, spa, rs):
    """K11: redeeming a code twice is invalid_grant and kills AT1 (introspection, userinfo) and RT1."""
    auth = await flows.authorize()
    first = await flows.exchange(auth)
    assert first.status_code == 200, first.text
    tokens = first.json()
    second = await flows.exchange(auth)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"

    introspection = await BackChannel(flows.http).introspect(tokens["access_token"])
    assert introspection.status_code == 200
    assert introspection.json() == {"active": False}
    refreshed = await flows.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    userinfo = await flows.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert userinfo.status_code == 401
    scheme, params = challenge(userinfo.headers["www-authenticate"])
    assert (scheme, params["error"]) == ("Bearer", "invalid_token")


async def test_k11_parallel_exchanges_issue_tokens_once(flows, alice, spa):
    """Two simultaneous redemptions of one code: exactly one succeeds."""
    auth = await flows.authorize()
    responses = await asyncio.gather(*(flows.exchange(auth) for _ in range(5)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400, 400, 400, 400]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}


async def test_code_issued_to_another_client_is_invalid_grant(flows, alice, spa):
    """A client cannot redeem a code issued to a different client (RFC 6749 §4.1.3)."""
    await flows.add_client("other")
    auth = await flows.authorize()
    response = await flows.exchange(auth, client_id="other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_expired_code_is_invalid_grant(flows, provider, clock, alice, spa):
    """A code presented after authorization_code_ttl is invalid_grant."""
    auth = await flows.authorize()
    clock.advance(provider.settings.authorization_code_ttl + 1)
    response = await flows.exchange(auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_code_just_before_expiry_still_redeems(flows, provider, clock, alice, spa):
    """The code lifetime is not cut short: one second before it ends the code still works."""
    auth = await flows.authorize()
    clock.advance(provider.settings.authorization_code_ttl - 1)
    response = await flows.exchange(auth)
    assert response.status_code == 200, response.text


async def test_disabled_user_cannot_redeem_a_code(flows, provider, alice, spa):
    """A user disabled between sign-in and redemption gets no tokens."""
    auth = await flows.authorize()
    await provider.storage.set_user_disabled(alice.username_key, True)
    response = await flows.exchange(auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_k22_iat_and_nbf_are_whole_seconds_never_in_the_future(flows, clock, alice, spa):
    """K22: with a clock at x.25 s, every iat/nbf/auth_time is an integer no later than now."""
    assert clock.now != int(clock.now)
    tokens = await flows.tokens()
    for name in ("access_token", "id_token"):
        claims = jwt.decode(tokens[name], options={"verify_signature": False})
        for claim in ("iat", "nbf", "exp", "auth_time"):
            if claim in claims:
                assert type(claims[claim]) is int, (name, claim)
                if claim != "exp":
                    assert claims[claim] <= clock.now, (name, claim)


async def test_k24_access_token_is_at_jwt_and_id_token_is_jwt(flows, alice, spa):
    """K24: access tokens carry typ at+jwt, ID tokens typ JWT, so one cannot pass for the other."""
    tokens = await flows.tokens()
    assert jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"
    assert jwt.get_unverified_header(tokens["id_token"])["typ"] == "JWT"


async def test_k24_access_token_audience_is_not_the_client_by_default(flows, alice, spa):
    """K24: without a configured audience the access token's aud is the issuer, never the client_id."""
    tokens = await flows.tokens()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == ISSUER
    assert claims["aud"] != "spa"


async def test_k24_access_token_audience_is_the_configured_one(flows, alice):
    """K24: a client with a registered audience gets access tokens for that API."""
    await flows.add_client(audience="https://api.example")
    tokens = await flows.tokens()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://api.example"


async def test_access_token_claims(flows, clock, alice, spa):
    """The access token is an RFC 9068 JWT with iss, sub, aud, exp = iat + 600, iat, jti, client_id, scope."""
    tokens = await flows.tokens()
    claims = await verify_with_jwks(flows.http, tokens["access_token"], audience=ISSUER)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == alice.id
    assert claims["iat"] == int(clock.now)
    assert claims["exp"] == claims["iat"] + 600
    assert claims["client_id"] == "spa"
    assert claims["scope"] == "openid profile email"
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16
    other = await flows.tokens()
    assert jwt.decode(other["access_token"], options={"verify_signature": False})["jti"] != claims["jti"]


async def test_id_token_claims(flows, clock, provider, alice, spa):
    """The ID token carries iss, sub, aud, exp, iat, auth_time, nonce, a correct at_hash, sid and amr."""
    auth = await flows.authorize()
    tokens = (await flows.exchange(auth)).json()
    claims = await verify_with_jwks(flows.http, tokens["id_token"], audience="spa")
    assert claims["iss"] == ISSUER
    assert claims["sub"] == alice.id
    assert claims["aud"] == "spa"
    assert claims["iat"] == int(clock.now)
    assert claims["exp"] == claims["iat"] + provider.settings.id_token_ttl
    assert claims["auth_time"] == int(clock.now)
    assert claims["nonce"] == auth.nonce
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    stored = await provider.storage.get_code(provider.hash(auth.code))
    assert claims["sid"] == stored.sid
    assert claims["amr"] == ["pwd"]
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == "RS256"


async def test_id_token_without_nonce_has_no_nonce(flows, alice, spa):
    """A request without nonce gets an ID token without a nonce claim (OIDC Core §2)."""
    auth = await flows.authorize(nonce=None)  # sent empty, which counts as absent
    tokens = (await flows.exchange(auth)).json()
    assert "nonce" not in jwt.decode(tokens["id_token"], options={"verify_signature": False})


async def test_id_token_profile_and_email_claims_follow_scope(flows, alice, spa):
    """Profile claims need `profile`, email claims need `email` (OIDC Core §5.4)."""
    bare = await flows.tokens(scope="openid")
    claims = jwt.decode(bare["id_token"], options={"verify_signature": False})
    assert not {"preferred_username", "name", "email", "email_verified"} & set(claims)
    email_only = await flows.tokens(scope="openid email")
    claims = jwt.decode(email_only["id_token"], options={"verify_signature": False})
    assert claims["email"] == "alice@example.com"
    assert "preferred_username" not in claims
    assert "name" not in claims


async def test_no_id_token_without_openid_scope(flows, alice, spa):
    """A plain OAuth request (no openid) gets no ID token."""
    tokens = await flows.tokens(scope="notes:read")
    assert "id_token" not in tokens
    assert tokens["scope"] == "notes:read"


async def test_no_refresh_token_for_a_client_without_the_refresh_grant(flows, alice):
    """A client not registered for refresh_token gets no refresh token."""
    await flows.add_client(grant_types=("authorization_code",))
    tokens = await flows.tokens()
    assert "refresh_token" not in tokens


async def test_refresh_token_is_opaque_with_at_least_256_bits(flows, alice, spa):
    """The refresh token is not a JWT and carries at least 256 random bits (43 base64url characters)."""
    tokens = await flows.tokens()
    assert tokens["refresh_token"].count(".") == 0
    assert len(tokens["refresh_token"]) >= 43


async def test_resource_picks_a_registered_audience(flows, alice):
    """RFC 8707: `resource` at /authorize selects one of the client's registered audiences."""
    await flows.add_client(audience="https://api.example https://notes.example")
    auth = await flows.authorize(resource="https://notes.example")
    response = await flows.exchange(auth, data={"resource": "https://notes.example"})
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://notes.example"


async def test_resource_outside_the_grant_is_invalid_target(flows, alice):
    """RFC 8707 §2: a resource at /token that was not granted is invalid_target."""
    await flows.add_client(audience="https://api.example")
    auth = await flows.authorize()
    response = await flows.exchange(auth, data={"resource": "https://evil.example"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


async def test_unregistered_resource_at_authorize_is_redirected_invalid_target(flows, alice):
    """RFC 8707 §2: a resource not registered for the client is invalid_target, sent back to the client."""
    await flows.add_client(audience="https://api.example")
    response = await flows.http.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": "spa",
            "redirect_uri": "https://app.example/callback",
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "resource": "https://evil.example",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("https://app.example/callback?")
    assert query_of(response.headers["location"])["error"] == "invalid_target"


async def test_confidential_client_redeems_with_basic_auth(flows, alice):
    """A confidential client authenticating with client_secret_basic redeems its code."""
    await flows.add_client("bff", secret="bff-secret")
    auth = await flows.authorize("bff")
    response = await flows.exchange(auth, client_id="bff", headers=basic_auth("bff", "bff-secret"))
    assert response.status_code == 200, response.text
    assert jwt.decode(response.json()["access_token"], options={"verify_signature": False})["client_id"] == "bff"
