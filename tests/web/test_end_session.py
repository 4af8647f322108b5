"""RP-initiated logout: OpenID Connect RP-Initiated Logout 1.0 §2-§3; sessions ending with what they
issued (K32, K33, K34)."""

from __future__ import annotations

import os
import re

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from passportoffice.cli.main import app
from tests.support.flows import authorization_params, error_code, set_cookies

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
SESSION_COOKIE = "__Host-passportoffice-session"
LOGGED_OUT = "https://app.example/logged-out"


@pytest.fixture
async def spa(flows):
    await flows.add_user()
    return await flows.add_client(post_logout_redirect_uris=(LOGGED_OUT, "https://app.example/bye?from=idp"))


def assert_local_page(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert "location" not in response.headers
    assert 'id="logged-out"' in response.text


def assert_error_page(response: httpx.Response, error: str = "invalid_request") -> None:
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert error_code(response) == error


async def session_alive(flows) -> bool:
    """Does the browser's session cookie still sign it in (a code without a login page)?"""
    response = await flows.http.get("/authorize", params=authorization_params(prompt="none"))
    location = response.headers["location"]
    assert location.startswith("https://app.example/callback?"), location
    return "code=" in location


def bearer_error(response: httpx.Response) -> str | None:
    match = re.search(r'error="([^"]*)"', response.headers.get("www-authenticate", ""))
    return match.group(1) if match else None


def foreign_id_token(kid: str) -> str:
    """An ID token for our issuer, signed by a key the provider never had."""
    key = ec.generate_private_key(ec.SECP256R1())
    claims = {"iss": ISSUER, "sub": "someone", "aud": "spa", "iat": 1_800_000_000, "exp": 1_800_000_600}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "JWT"})


# --- Where the browser goes afterwards (K34) -------------------------------------------------------


async def test_k34_post_logout_redirect_uri_without_client_is_a_local_page(flows, spa):
    """K34: post_logout_redirect_uri with no id_token_hint and no client_id gets the 200 local page, no Location."""
    for uri in ("https://anything.example", LOGGED_OUT):
        params = {"post_logout_redirect_uri": uri, "state": "s"}
        assert_local_page(await flows.http.get("/end_session", params=params))
        assert_local_page(await flows.http.post("/end_session", data=params))


async def test_registered_uri_with_client_id_redirects_with_state(flows, spa):
    """With client_id and a post_logout_redirect_uri it registered, logout answers 303 there with state."""
    params = {"client_id": "spa", "post_logout_redirect_uri": LOGGED_OUT, "state": "xyz"}
    response = await flows.http.get("/end_session", params=params)
    assert response.status_code == 303
    assert response.headers["location"] == LOGGED_OUT + "?state=xyz"


async def test_registered_uri_without_state_redirects_without_a_query(flows, spa):
    """Without state the redirect goes to the registered URI exactly as registered."""
    params = {"client_id": "spa", "post_logout_redirect_uri": LOGGED_OUT}
    response = await flows.http.post("/end_session", data=params)
    assert response.status_code == 303
    assert response.headers["location"] == LOGGED_OUT


async def test_registered_uri_with_a_query_keeps_it(flows, spa):
    """A registered post-logout URI with a query gets state appended with `&`."""
    params = {"client_id": "spa", "post_logout_redirect_uri": "https://app.example/bye?from=idp", "state": "s1"}
    response = await flows.http.get("/end_session", params=params)
    assert response.status_code == 303
    assert response.headers["location"] == "https://app.example/bye?from=idp&state=s1"


@pytest.mark.parametrize(
    "uri",
    [
        "https://attacker.test/",
        LOGGED_OUT + "/",
        LOGGED_OUT + "?x=1",
        "https://app.example/logged",
        "https://app.example/callback",
    ],
)
async def test_unregistered_uri_with_client_id_is_a_local_page(flows, spa, uri):
    """A post_logout_redirect_uri the identified client did not register exactly gets the 200 local page."""
    params = {"client_id": "spa", "post_logout_redirect_uri": uri, "state": "s"}
    assert_local_page(await flows.http.get("/end_session", params=params))


async def test_uri_registered_by_another_client_is_a_local_page(flows, spa):
    """A URI registered by a different client than the identified one gets the local page."""
    await flows.add_client("other", post_logout_redirect_uris=("https://other.example/bye",))
    params = {"client_id": "spa", "post_logout_redirect_uri": "https://other.example/bye"}
    assert_local_page(await flows.http.get("/end_session", params=params))


async def test_unknown_client_id_is_a_local_page(flows, spa):
    """An unknown client_id identifies nobody: the local page, no redirect."""
    params = {"client_id": "nobody", "post_logout_redirect_uri": LOGGED_OUT}
    assert_local_page(await flows.http.get("/end_session", params=params))


async def test_id_token_hint_identifies_the_client_for_the_redirect(flows, spa):
    """An id_token_hint alone identifies the client, so its registered URI gets the 303 with state."""
    body = await flows.tokens()
    params = {"id_token_hint": body["id_token"], "post_logout_redirect_uri": LOGGED_OUT, "state": "st"}
    response = await flows.http.get("/end_session", params=params)
    assert response.status_code == 303
    assert response.headers["location"] == LOGGED_OUT + "?state=st"


async def test_logged_out_page_has_the_html_security_headers(flows, spa):
    """The logged-out page sends CSP frame-ancestors 'none', Referrer-Policy no-referrer and nosniff."""
    response = await flows.http.get("/end_session")
    assert_local_page(response)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


# --- Ending the session ----------------------------------------------------------------------------


async def test_logout_with_the_cookie_ends_the_session_and_clears_the_cookie(flows, spa):
    """Logout with only the session cookie ends that session and expires the `__Host-` cookie."""
    await flows.authorize()
    assert await session_alive(flows)
    cookie_value = flows.http.cookies[SESSION_COOKIE]
    response = await flows.http.get("/end_session")
    assert_local_page(response)
    cleared = set_cookies(response)[SESSION_COOKIE]
    assert cleared["value"] in ("", '""')
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    assert "secure" in cleared and "domain" not in cleared
    stored = await flows.provider.storage.get_session(flows.provider.hash(cookie_value), flows.provider.now())
    assert stored is None


async def test_k32_id_token_hint_ends_its_session_without_cookies(flows, spa):
    """K32: a logout request carrying only the id_token_hint (no cookie) still ends that server-side session."""
    body = await flows.tokens()
    cookie_value = flows.http.cookies[SESSION_COOKIE]
    sid = jwt.decode(body["id_token"], options={"verify_signature": False})["sid"]
    flows.http.cookies.clear()
    response = await flows.http.get("/end_session", params={"id_token_hint": body["id_token"]})
    assert_local_page(response)
    session = await flows.provider.storage.get_session_by_sid(sid)
    assert session is not None and session.ended_at is not None
    flows.http.cookies.set(SESSION_COOKIE, cookie_value, domain="idp.example", path="/")
    assert not await session_alive(flows)


async def test_k32_logout_revokes_non_offline_refresh_tokens_and_keeps_offline_ones(flows, spa):
    """K32: logout by id_token_hint revokes the session's refresh tokens, except offline_access ones."""
    online = await flows.tokens(scope="openid profile")
    offline = await flows.tokens(scope="openid offline_access")
    flows.http.cookies.clear()
    response = await flows.http.post("/end_session", data={"id_token_hint": online["id_token"]})
    assert_local_page(response)
    refreshed = await flows.refresh(online["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    still = await flows.refresh(offline["refresh_token"])
    assert still.status_code == 200, still.text


async def test_k33_disabling_the_user_signs_the_browser_out_and_stops_every_token(flows, spa, provider):
    """K33: after `passportoffice users disable alice` (the real command, on the provider's database), the
    session cookie signs nobody in (prompt=none is login_required, a plain request goes to the login page),
    access tokens are 401 / inactive and refresh tokens, offline ones too, are invalid_grant."""
    await flows.add_client("rs", secret="rs-secret", redirect_uris=(), grant_types=("client_credentials",))
    online = await flows.tokens()
    offline = await flows.tokens(scope="openid offline_access")
    env = {name: None for name in os.environ if name.startswith("PASSPORTOFFICE_")} | {
        "PASSPORTOFFICE_DATABASE_URL": provider.settings.resolved_database_url,
        "PASSPORTOFFICE_SECRET_KEY": "0" * 64,  # the test provider's instance secret
        "PASSPORTOFFICE_DATA_DIR": str(provider.settings.data_dir),
    }
    result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(app, ["users", "disable", "alice"], env=env))
    assert result.exit_code == 0, result.output

    assert not await session_alive(flows)
    silent = await flows.http.get("/authorize", params=authorization_params(prompt="none"))
    assert re.search(r"[?&]error=login_required(&|$)", silent.headers["location"])
    plain = await flows.http.get("/authorize", params=authorization_params())
    assert plain.status_code == 303
    assert plain.headers["location"].startswith("/login?")
    for body in (online, offline):
        userinfo = await flows.http.get("/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
        assert userinfo.status_code == 401
        assert bearer_error(userinfo) == "invalid_token"
        introspection = await flows.http.post(
            "/introspect", data={"token": body["access_token"]}, auth=("rs", "rs-secret")
        )
        assert introspection.json() == {"active": False}
        refreshed = await flows.refresh(body["refresh_token"])
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"


async def test_expired_id_token_hint_is_still_accepted(flows, spa, clock):
    """An id_token_hint past its exp still identifies the session to end (a logout hint may be old)."""
    body = await flows.tokens()
    clock.advance(flows.provider.settings.id_token_ttl + 60)
    flows.http.cookies.clear()
    response = await flows.http.get("/end_session", params={"id_token_hint": body["id_token"]})
    assert_local_page(response)
    refreshed = await flows.refresh(body["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_k33_ending_a_session_revokes_its_tokens_and_cookie(flows, spa):
    """K33: after an admin ends a session, its cookie, access token and non-offline refresh token stop working."""
    body = await flows.tokens()
    offline = await flows.tokens(scope="openid offline_access")
    sid = jwt.decode(body["id_token"], options={"verify_signature": False})["sid"]
    assert await flows.provider.storage.end_session(sid, flows.provider.now())
    userinfo = await flows.http.get("/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
    assert userinfo.status_code == 401
    assert bearer_error(userinfo) == "invalid_token"
    refreshed = await flows.refresh(body["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert not await session_alive(flows)
    kept = await flows.http.get("/userinfo", headers={"Authorization": "Bearer " + offline["access_token"]})
    assert kept.status_code == 200, kept.text


# --- Bad hints -------------------------------------------------------------------------------------


async def test_id_token_hint_signed_by_another_key_is_a_400_page(flows, spa):
    """An id_token_hint not signed by this provider (unknown kid, or our kid with a foreign key) gets a 400 page."""
    await flows.authorize()
    our_kid = (await flows.http.get("/jwks")).json()["keys"][0]["kid"]
    for hint in (foreign_id_token("someone-elses-key"), foreign_id_token(our_kid)):
        response = await flows.http.get(
            "/end_session", params={"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT}
        )
        assert_error_page(response)
    assert await session_alive(flows)


@pytest.mark.parametrize("hint", ["not-a-jwt", "a.b.c", "e30.e30.", "x" * 8000], ids=["text", "dots", "empty", "long"])
async def test_malformed_id_token_hint_is_a_400_page(flows, spa, hint):
    """A malformed id_token_hint gets a 400 invalid_request page and ends nothing."""
    await flows.authorize()
    assert_error_page(await flows.http.post("/end_session", data={"id_token_hint": hint}))
    assert await session_alive(flows)


async def test_oversized_id_token_hint_is_refused_before_parsing(flows, spa):
    """An id_token_hint beyond the parameter length cap gets a 413 invalid_request page and ends nothing."""
    await flows.authorize()
    response = await flows.http.post("/end_session", data={"id_token_hint": "x" * 20000})
    assert response.status_code == 413
    assert "location" not in response.headers
    assert error_code(response) == "invalid_request"
    assert await session_alive(flows)


async def test_access_token_as_id_token_hint_is_a_400_page(flows, spa):
    """An access token (typ at+jwt) is not an ID token, so it is refused as a hint."""
    body = await flows.tokens()
    assert_error_page(await flows.http.get("/end_session", params={"id_token_hint": body["access_token"]}))
    assert await session_alive(flows)


async def test_client_id_that_does_not_match_the_hint_is_a_400_page(flows, spa):
    """A client_id different from the hint's audience gets a 400 invalid_request page and ends nothing."""
    await flows.add_client("other", post_logout_redirect_uris=("https://other.example/bye",))
    body = await flows.tokens()
    params = {
        "id_token_hint": body["id_token"],
        "client_id": "other",
        "post_logout_redirect_uri": "https://other.example/bye",
    }
    assert_error_page(await flows.http.get("/end_session", params=params))
    assert await session_alive(flows)
    assert (await flows.refresh(body["refresh_token"])).status_code == 200


async def test_repeated_parameter_is_a_400_page(flows, spa):
    """A repeated logout parameter gets a 400 invalid_request page, never a redirect."""
    params = [("client_id", "spa"), ("post_logout_redirect_uri", LOGGED_OUT), ("post_logout_redirect_uri", LOGGED_OUT)]
    assert_error_page(await flows.http.get("/end_session", params=params))
