"""Refresh-cookie mode (issue 4): the code exchange sets the cookie, `POST /token/refresh` rotates it.

Rotation, reuse detection and lifetimes are the refresh_token grant's (tests/web/test_token_refresh.py);
these tests check what the cookie mode adds: the cookie and its attributes, the CSRF rule (K37), CORS
with credentials for the client's registered origins only (K35), and the cookie cleared on invalid_grant.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa

from passportoffice.storage.tables import refresh_tokens
from passportoffice.web.cookies import refresh_cookie_name
from tests.support.flows import Flows, set_cookies, settings_with

pytestmark = pytest.mark.anyio

APP = "https://app.example"
SECOND_APP = "http://localhost:9402"
OTHER_APP = "https://other-app.example"
ATTACKER = "https://attacker.example"
COOKIE = "__Host-passportoffice-refresh-spa"
BROWSER = {"Origin": APP, "X-Requested-With": "passportoffice"}
TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "id_token", "scope"}


@pytest.fixture
def settings(settings, request):
    """The shared test settings, with per-test overrides through indirect parametrization."""
    return settings_with(settings, **getattr(request, "param", {}))


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client(refresh_cookie=True, origins=(APP, SECOND_APP))


@pytest.fixture
async def plain(flows):
    """An ordinary public SPA client (refresh token in the body), on another origin."""
    return await flows.add_client("plain", origins=(OTHER_APP,))


async def sign_in(flows: Flows, scope: str = "openid profile email", **headers: str) -> httpx.Response:
    auth = await flows.authorize(scope=scope)
    return await flows.exchange(auth, headers={**BROWSER, **headers})


async def signed_in(flows: Flows, scope: str = "openid profile email") -> str:
    """Sign in through the cookie mode; returns the refresh cookie's value."""
    response = await sign_in(flows, scope)
    assert response.status_code == 200, response.text
    return set_cookies(response)[COOKIE]["value"]


async def refresh(
    flows: Flows, cookie: str | None, *, headers: dict[str, str] | None = None, **data: str
) -> httpx.Response:
    """POST /token/refresh as the SPA does, with exactly the given cookie (or none)."""
    flows.http.cookies.clear()
    sent = dict(BROWSER if headers is None else headers)
    if cookie is not None:
        sent["Cookie"] = f"{COOKIE}={cookie}"
    return await flows.http.post("/token/refresh", data={"client_id": "spa", **data}, headers=sent)


async def family(provider, cookie: str) -> list[Any]:
    """Every refresh token row of the cookie's family, oldest first."""
    state = await provider.storage.get_refresh_token(provider.hash(cookie))
    async with provider.storage.db.read() as connection:
        query = (
            sa.select(refresh_tokens)
            .where(refresh_tokens.c.grant_id == state.grant.id)
            .order_by(refresh_tokens.c.created_at, refresh_tokens.c.token_hash)
        )
        return list((await connection.execute(query)).all())


async def assert_not_rotated(provider, cookie: str) -> None:
    rows = await family(provider, cookie)
    assert len(rows) == 1
    assert rows[0].token_hash == provider.hash(cookie)
    assert rows[0].rotated_at is None and rows[0].successor_hash is None
    state = await provider.storage.get_refresh_token(provider.hash(cookie))
    assert state.grant.revoked_at is None


def assert_refresh_cookie(response: httpx.Response, max_age: int) -> str:
    """The response sets the refresh cookie with exactly the specified attributes; returns its value."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
    cookie = set_cookies(response)[COOKIE]
    assert set(cookie) == {"value", "httponly", "secure", "samesite", "path", "max-age"}, header
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(max_age)
    assert len(cookie["value"]) >= 43
    return cookie["value"]


def assert_cookie_cleared(response: httpx.Response) -> None:
    cookie = set_cookies(response)[COOKIE]
    assert cookie["value"] in ("", '""')
    assert cookie["max-age"] == "0"
    assert {"httponly", "secure", "path"} <= cookie.keys() and "domain" not in cookie
    assert cookie["samesite"].lower() == "strict"


def assert_credentialed_cors(response: httpx.Response, origin: str = APP) -> None:
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers.get_list("vary")


def assert_no_cors(response: httpx.Response) -> None:
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


# --- The code exchange -------------------------------------------------------------------------


async def test_code_exchange_puts_the_refresh_token_in_the_cookie_not_the_body(flows, provider, alice, spa):
    """The JSON body has no refresh_token; the cookie holds a refresh token the provider stored (hashed)."""
    response = await sign_in(flows)
    assert response.status_code == 200, response.text
    assert set(response.json()) == TOKEN_FIELDS
    assert response.json()["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"
    # Without offline_access the family lives no longer than the 12-hour IdP session.
    value = assert_refresh_cookie(response, provider.settings.session_ttl)
    state = await provider.storage.get_refresh_token(provider.hash(value))
    assert state is not None and state.grant.client_id == "spa"


async def test_code_exchange_answers_the_registered_origin_with_credentials(flows, alice, spa):
    """K35: the exchange response allows exactly the client's origin, with credentials, varying on Origin."""
    response = await sign_in(flows)
    assert_credentialed_cors(response)
    second = await sign_in(flows, Origin=SECOND_APP)
    assert second.status_code == 200, second.text
    assert_credentialed_cors(second, SECOND_APP)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Requested-With": ""},
        {"X-Requested-With": "XMLHttpRequest"},
        {"Origin": ""},
        {"Origin": ATTACKER},
        {"Origin": OTHER_APP},
    ],
    ids=["no-header", "other-header-value", "no-origin", "attacker-origin", "another-clients-origin"],
)
async def test_k37_code_exchange_without_header_or_registered_origin_is_403_and_spends_nothing(
    flows, provider, alice, spa, plain, headers
):
    """K37: a forbidden exchange gets 403 access_denied, no cookie, no CORS for foreign origins, and the
    code stays redeemable by the real SPA."""
    auth = await flows.authorize()
    sent = {name: value for name, value in {**BROWSER, **headers}.items() if value}
    response = await flows.exchange(auth, headers=sent)
    assert_error(response, 403, "access_denied")
    assert COOKIE not in set_cookies(response)
    if sent.get("Origin") != APP:
        assert_no_cors(response)
    retried = await flows.exchange(auth, headers=BROWSER)
    assert retried.status_code == 200, retried.text


async def test_refresh_token_grant_at_the_token_endpoint_is_refused_for_a_cookie_client(flows, alice, spa):
    """A cookie client refreshes only at /token/refresh: grant_type=refresh_token is unauthorized_client."""
    cookie = await signed_in(flows)
    response = await flows.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": cookie, "client_id": "spa"},
        headers=BROWSER,
    )
    assert_error(response, 400, "unauthorized_client")


async def test_an_ordinary_client_still_gets_its_refresh_token_in_the_body(flows, alice, plain):
    """Clients without --refresh-cookie are unchanged: refresh_token in the body, no cookie, no credentials."""
    auth = await flows.authorize("plain")
    response = await flows.exchange(auth, "plain", headers={"Origin": OTHER_APP})
    assert response.status_code == 200, response.text
    assert "refresh_token" in response.json()
    assert not [h for h in response.headers.get_list("set-cookie") if "refresh" in h]
    assert response.headers["access-control-allow-origin"] == OTHER_APP
    assert "access-control-allow-credentials" not in response.headers


# --- POST /token/refresh -----------------------------------------------------------------------


async def test_refresh_rotates_the_cookie_and_returns_tokens_in_json(flows, provider, clock, alice, spa):
    """200 with the token fields (no refresh_token), no-store, the successor cookie, and the old row rotated."""
    cookie = await signed_in(flows)
    clock.advance(60)
    response = await refresh(flows, cookie)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile email"
    assert body["expires_in"] == provider.settings.access_token_ttl
    assert response.headers["cache-control"] == "no-store"
    assert_credentialed_cors(response)
    successor = assert_refresh_cookie(response, provider.settings.session_ttl - 60)
    assert successor != cookie
    rows = await family(provider, cookie)
    assert [row.token_hash for row in rows] == [provider.hash(cookie), provider.hash(successor)]
    assert rows[0].rotated_at == provider.now() and rows[0].successor_hash == provider.hash(successor)
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["aud"] == "spa" and claims["iss"] == provider.settings.issuer


async def test_refresh_through_the_cookie_jar_chains_rotations(flows, alice, spa):
    """As in a browser: the jar keeps the successor, and three refreshes in a row all succeed."""
    await signed_in(flows)
    tokens = set()
    for _ in range(3):
        response = await flows.http.post("/token/refresh", data={"client_id": "spa"}, headers=BROWSER)
        assert response.status_code == 200, response.text
        tokens.add(response.json()["access_token"])
    assert len(tokens) == 3


@pytest.mark.parametrize(
    "settings", [{"refresh_token_idle_ttl": 1000, "refresh_token_absolute_ttl": 1500}], indirect=True
)
async def test_cookie_max_age_never_exceeds_the_idle_or_absolute_lifetime(flows, clock, alice, spa):
    """Max-Age is the idle lifetime at first, then what is left of the absolute lifetime once that is shorter."""
    cookie = await signed_in(flows, "openid offline_access")
    clock.advance(400)
    response = await refresh(flows, cookie)
    successor = assert_refresh_cookie(response, 1000)
    clock.advance(700)
    response = await refresh(flows, successor)
    assert_refresh_cookie(response, 1500 - 1100)


@pytest.mark.parametrize("settings", [{"session_ttl": 3600}], indirect=True)
async def test_cookie_max_age_never_exceeds_the_session_without_offline_access(flows, clock, alice, spa):
    """Without offline_access the family dies with its sign-in, so the cookie expires with the session."""
    response = await sign_in(flows)
    assert_refresh_cookie(response, 3600)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": APP},
        {"Origin": APP, "X-Requested-With": "XMLHttpRequest"},
        {"X-Requested-With": "passportoffice"},
        {"Origin": ATTACKER, "X-Requested-With": "passportoffice"},
        {"Origin": OTHER_APP, "X-Requested-With": "passportoffice"},
        {"Origin": "null", "X-Requested-With": "passportoffice"},
        {"Origin": ATTACKER},
    ],
    ids=[
        "no-header",
        "other-header-value",
        "no-origin",
        "attacker-origin",
        "another-clients-origin",
        "opaque-origin",
        "cross-site-form",
    ],
)
async def test_k37_refresh_without_header_and_registered_origin_is_403_and_rotates_nothing(
    flows, provider, alice, spa, plain, headers
):
    """K37: anything but the SPA's own fetch gets 403 access_denied; the database shows nothing rotated,
    the cookie is neither replaced nor cleared, and the same cookie still works for the real SPA."""
    cookie = await signed_in(flows)
    response = await refresh(flows, cookie, headers=headers)
    assert_error(response, 403, "access_denied")
    assert response.headers.get_list("set-cookie") == []
    if headers.get("Origin") != APP:
        assert_no_cors(response)
    await assert_not_rotated(provider, cookie)
    assert (await refresh(flows, cookie)).status_code == 200


async def test_k37_a_cookie_client_cannot_be_refreshed_as_another_client_from_its_origin(
    flows, provider, alice, spa, plain
):
    """K37/K35: naming the ordinary client from that client's origin is unauthorized_client and rotates nothing."""
    cookie = await signed_in(flows)
    flows.http.cookies.clear()
    response = await flows.http.post(
        "/token/refresh",
        data={"client_id": "plain"},
        headers={"Origin": OTHER_APP, "X-Requested-With": "passportoffice", "Cookie": f"{COOKIE}={cookie}"},
    )
    assert_error(response, 400, "unauthorized_client")
    assert_no_cors(response)
    await assert_not_rotated(provider, cookie)


async def test_unknown_client_is_invalid_client_without_cors(flows, alice, spa):
    """The client is identified before anything else: an unknown client_id is 401 invalid_client, no CORS."""
    flows.http.cookies.clear()
    response = await flows.http.post("/token/refresh", data={"client_id": "nobody"}, headers=BROWSER)
    assert_error(response, 401, "invalid_client")
    assert_no_cors(response)


async def test_missing_client_id_is_invalid_client(flows, alice, spa):
    """Without client_id there is no client to refresh for."""
    response = await flows.http.post(
        "/token/refresh",
        content=b"",
        headers={**BROWSER, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 401, "invalid_client")


async def test_a_json_body_is_invalid_request(flows, provider, alice, spa):
    """The body is form-encoded like every token request (RFC 6749 §3.2); JSON is refused, nothing rotates."""
    cookie = await signed_in(flows)
    response = await flows.http.post(
        "/token/refresh", json={"client_id": "spa"}, headers={**BROWSER, "Cookie": f"{COOKIE}={cookie}"}
    )
    assert_error(response, 400, "invalid_request")
    await assert_not_rotated(provider, cookie)


async def test_missing_cookie_is_invalid_grant_and_clears_the_cookie(flows, alice, spa):
    """No cookie (never signed in, or the browser dropped it): 400 invalid_grant, cookie cleared, CORS readable."""
    response = await refresh(flows, None)
    assert_error(response, 400, "invalid_grant")
    assert_cookie_cleared(response)
    assert_credentialed_cors(response)


@pytest.mark.parametrize("value", ["x" * 43, "x" * 5000, "not a token"])
async def test_unknown_cookie_is_invalid_grant_and_clears_the_cookie(flows, alice, spa, value):
    """An unknown, oversized or malformed cookie value: 400 invalid_grant and the cookie cleared."""
    response = await refresh(flows, value)
    assert_error(response, 400, "invalid_grant")
    assert_cookie_cleared(response)


async def test_expired_cookie_is_invalid_grant_and_clears_the_cookie(flows, provider, clock, alice, spa):
    """A refresh token idle past its lifetime: 400 invalid_grant, cookie cleared."""
    cookie = await signed_in(flows, "openid offline_access")
    clock.advance(provider.settings.refresh_token_idle_ttl)
    response = await refresh(flows, cookie)
    assert_error(response, 400, "invalid_grant")
    assert_cookie_cleared(response)


async def test_revoked_family_is_invalid_grant_and_clears_the_cookie(flows, provider, alice, spa):
    """A revoked family: 400 invalid_grant, cookie cleared."""
    cookie = await signed_in(flows)
    state = await provider.storage.get_refresh_token(provider.hash(cookie))
    await provider.storage.revoke_grant(state.grant.id, provider.now())
    response = await refresh(flows, cookie)
    assert_error(response, 400, "invalid_grant")
    assert_cookie_cleared(response)


async def test_ended_session_is_invalid_grant_and_clears_the_cookie(flows, provider, alice, spa):
    """Without offline_access the cookie dies with the IdP session."""
    cookie = await signed_in(flows)
    state = await provider.storage.get_refresh_token(provider.hash(cookie))
    await provider.storage.end_session(state.grant.sid, provider.now())
    response = await refresh(flows, cookie)
    assert_error(response, 400, "invalid_grant")
    assert_cookie_cleared(response)


async def test_reused_cookie_after_the_window_revokes_the_family(flows, provider, clock, alice, spa):
    """A rotated cookie replayed after the reuse window: invalid_grant, cookie cleared, whole family revoked."""
    cookie = await signed_in(flows)
    successor = set_cookies(await refresh(flows, cookie))[COOKIE]["value"]
    clock.advance(provider.settings.refresh_reuse_window)
    replay = await refresh(flows, cookie)
    assert_error(replay, 400, "invalid_grant")
    assert_cookie_cleared(replay)
    state = await provider.storage.get_refresh_token(provider.hash(successor))
    assert state.grant.revoked_at == provider.now()
    assert_error(await refresh(flows, successor), 400, "invalid_grant")


async def test_predecessor_within_the_window_gets_the_same_successor(flows, provider, clock, alice, spa):
    """Two tabs, or a lost response: the predecessor within the window gets the same successor cookie and tokens."""
    cookie = await signed_in(flows, "openid offline_access")
    first = await refresh(flows, cookie)
    clock.advance(provider.settings.refresh_reuse_window - 1)
    second = await refresh(flows, cookie)
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert set_cookies(second)[COOKIE]["value"] == set_cookies(first)[COOKIE]["value"]
    # The replayed cookie's Max-Age is the successor's remaining life, not a fresh one.
    elapsed = provider.settings.refresh_reuse_window - 1
    assert_refresh_cookie(second, provider.settings.refresh_token_idle_ttl - elapsed)
    assert len(await family(provider, cookie)) == 2


async def test_parallel_refreshes_with_one_cookie_share_one_successor(flows, provider, alice, spa):
    """K13 through the cookie: concurrent refreshes all succeed with the same successor; one new row."""
    cookie = await signed_in(flows)
    responses = await asyncio.gather(
        *(
            flows.http.post(
                "/token/refresh", data={"client_id": "spa"}, headers={**BROWSER, "Cookie": f"{COOKIE}={cookie}"}
            )
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert len({set_cookies(r)[COOKIE]["value"] for r in responses}) == 1
    assert len(await family(provider, cookie)) == 2


async def test_k25_scope_narrowing_through_the_cookie(flows, provider, alice, spa):
    """scope narrows the new access token; a scope outside the grant is invalid_scope and rotates nothing."""
    cookie = await signed_in(flows)
    escalated = await refresh(flows, cookie, scope="openid admin")
    assert_error(escalated, 400, "invalid_scope")
    assert escalated.headers.get_list("set-cookie") == []
    await assert_not_rotated(provider, cookie)
    narrowed = await refresh(flows, cookie, scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"


async def test_an_ordinary_client_cannot_use_the_refresh_endpoint(flows, alice, plain):
    """A client not in cookie mode gets 400 unauthorized_client (and no credentialed CORS)."""
    response = await flows.http.post(
        "/token/refresh",
        data={"client_id": "plain"},
        headers={"Origin": OTHER_APP, "X-Requested-With": "passportoffice"},
    )
    assert_error(response, 400, "unauthorized_client")
    assert_no_cors(response)


async def test_two_cookie_clients_have_separate_cookies(flows, provider, alice, spa):
    """One cookie per client: signing in to a second SPA on the same site leaves the first one's cookie alone."""
    await flows.add_client("notes.app", refresh_cookie=True, origins=(APP,))
    first = await signed_in(flows)
    auth = await flows.authorize("notes.app")
    response = await flows.exchange(auth, "notes.app", headers=BROWSER)
    assert response.status_code == 200, response.text
    assert set(set_cookies(response)) == {refresh_cookie_name("notes.app")}
    assert refresh_cookie_name("notes.app") == "__Host-passportoffice-refresh-notes.app"
    assert (await refresh(flows, first)).status_code == 200


def test_cookie_name_is_the_percent_encoded_client_id() -> None:
    """Any client id maps to a distinct cookie name made only of cookie-name characters."""
    assert refresh_cookie_name("spa") == COOKIE
    assert refresh_cookie_name("a b;c=d") == "__Host-passportoffice-refresh-a%20b%3Bc%3Dd"
    assert refresh_cookie_name("a/b") != refresh_cookie_name("a%2Fb")


# --- Preflights --------------------------------------------------------------------------------

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-requested-with"}


async def test_refresh_preflight_allows_the_registered_origins_with_credentials(flows, spa):
    """OPTIONS /token/refresh: POST, content-type and x-requested-with, with credentials, for the SPA's origins."""
    for origin in (APP, SECOND_APP):
        response = await flows.http.options("/token/refresh", headers={"Origin": origin, **PREFLIGHT})
        assert response.status_code == 204
        assert_credentialed_cors(response, origin)
        assert response.headers["access-control-allow-methods"] == "POST"
        allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
        assert allowed == {"content-type", "x-requested-with"}


@pytest.mark.parametrize("origin", [ATTACKER, OTHER_APP, "null"])
async def test_refresh_preflight_refuses_other_origins(flows, spa, plain, origin):
    """K35/K37: an unregistered origin, or one registered only by an ordinary client, gets no CORS at all."""
    response = await flows.http.options("/token/refresh", headers={"Origin": origin, **PREFLIGHT})
    assert_no_cors(response)


async def test_token_preflight_allows_credentials_and_the_header_for_a_cookie_clients_origin(flows, spa, plain):
    """The code exchange is a credentialed fetch with the custom header, so /token's preflight allows both for
    a cookie client's origin, and neither for an ordinary client's origin."""
    cookie_origin = await flows.http.options("/token", headers={"Origin": APP, **PREFLIGHT})
    assert_credentialed_cors(cookie_origin)
    assert "x-requested-with" in cookie_origin.headers["access-control-allow-headers"].lower()
    ordinary = await flows.http.options("/token", headers={"Origin": OTHER_APP, **PREFLIGHT})
    assert ordinary.headers["access-control-allow-origin"] == OTHER_APP
    assert "access-control-allow-credentials" not in ordinary.headers


async def test_authorization_endpoint_never_gets_cors_even_for_a_cookie_client(flows, alice, spa):
    """/authorize is a navigation: no CORS headers, no preflight, for a cookie client's origin too."""
    response = await flows.http.get("/authorize", params={"client_id": "spa"}, headers={"Origin": APP})
    assert_no_cors(response)
    preflight = await flows.http.options("/authorize", headers={"Origin": APP, **PREFLIGHT})
    assert_no_cors(preflight)


async def test_discovery_names_the_refresh_endpoint_under_a_vendor_key(flows):
    """The endpoint is advertised under a vendor-prefixed (non-standard) metadata name."""
    document = (await flows.http.get("/.well-known/openid-configuration")).json()
    assert document["passportoffice_refresh_cookie_endpoint"] == "https://idp.example/token/refresh"


# --- Logout and revocation ---------------------------------------------------------------------


async def grant_of(provider, cookie: str):
    return (await provider.storage.get_refresh_token(provider.hash(cookie))).grant


@pytest.mark.parametrize("scope", ["openid profile", "openid offline_access"])
async def test_logout_revokes_the_cookies_family_and_clears_it(flows, provider, alice, spa, scope):
    """RP-initiated logout (a navigation carrying the cookie) revokes the family, offline_access or not, and
    clears the cookie; the old cookie then gets invalid_grant."""
    cookie = await signed_in(flows, scope)
    response = await flows.http.get("/end_session", params={"client_id": "spa"})
    assert response.status_code == 200, response.text
    assert_cookie_cleared(response)
    assert (await grant_of(provider, cookie)).revoked_at == provider.now()
    assert_error(await refresh(flows, cookie), 400, "invalid_grant")


async def test_logout_revokes_every_refresh_cookie_of_the_browser(flows, provider, alice, spa):
    """Two SPAs in one browser: logging out of the provider leaves neither refresh cookie alive."""
    await flows.add_client("notes", refresh_cookie=True, origins=(APP,))
    first = await signed_in(flows, "openid offline_access")
    auth = await flows.authorize("notes", scope="openid offline_access")
    second = set_cookies(await flows.exchange(auth, "notes", headers=BROWSER))[refresh_cookie_name("notes")]["value"]
    response = await flows.http.get("/end_session")
    assert set(set_cookies(response)) >= {COOKIE, refresh_cookie_name("notes")}
    assert (await grant_of(provider, first)).revoked_at is not None
    assert (await grant_of(provider, second)).revoked_at is not None


async def test_logout_ignores_a_cookie_whose_token_belongs_to_another_client(flows, provider, alice, spa):
    """A refresh cookie renamed to another client's name revokes nothing (the token is not that client's)."""
    await flows.add_client("other-spa", refresh_cookie=True, origins=(APP,))
    cookie = await signed_in(flows, "openid offline_access")
    flows.http.cookies.clear()
    response = await flows.http.get(
        "/end_session", headers={"Cookie": f"{refresh_cookie_name('other-spa')}={cookie}"}
    )
    assert response.status_code == 200
    assert set_cookies(response)[refresh_cookie_name("other-spa")]["max-age"] == "0"
    assert (await grant_of(provider, cookie)).revoked_at is None


async def test_revoke_with_the_cookie_revokes_its_family_and_clears_it(flows, provider, alice, spa):
    """/revoke from the SPA (its access token as `token`, the cookie attached) also revokes the cookie's family."""
    cookie = await signed_in(flows, "openid offline_access")
    access_token = (await refresh(flows, cookie)).json()["access_token"]
    successor_grant = await grant_of(provider, cookie)
    flows.http.cookies.clear()
    response = await flows.http.post(
        "/revoke",
        data={"token": access_token, "client_id": "spa"},
        headers={**BROWSER, "Cookie": f"{COOKIE}={cookie}"},
    )
    assert response.status_code == 200, response.text
    assert_cookie_cleared(response)
    assert_credentialed_cors(response)
    assert (await provider.storage.get_grant(successor_grant.id)).revoked_at == provider.now()


async def test_k37_revoke_with_the_cookie_but_without_the_header_is_403_and_revokes_nothing(
    flows, provider, alice, spa
):
    """K37: the cookie authorizes the family's revocation only with the custom header and a registered Origin."""
    cookie = await signed_in(flows, "openid offline_access")
    access_token = (await refresh(flows, cookie, scope="openid")).json()["access_token"]
    flows.http.cookies.clear()
    response = await flows.http.post(
        "/revoke",
        data={"token": access_token, "client_id": "spa"},
        headers={"Origin": APP, "Cookie": f"{COOKIE}={cookie}"},
    )
    assert_error(response, 403, "access_denied")
    assert response.headers.get_list("set-cookie") == []
    assert (await grant_of(provider, cookie)).revoked_at is None
