"""The BFF's defences, end to end against a real provider and a real API: the known-failure cases of
component `bff` (K14, K15, K27, K28, K32, K33, K36, K37), the allow-list, upstream failures, refresh."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from passportoffice.bff import BffSettings
from passportoffice.cli.main import app as cli_app
from tests.bff.conftest import password, sub
from tests.bff.stack import CSRF, SECRET_KEY, Browser, Provider
from tests.support.flows import set_cookies

INVALID_STATE = "unknown, expired or already used state"


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def unconsumed_codes(provider: Provider) -> int:
    return int(provider.query(
        "SELECT COUNT(*) FROM authorization_codes WHERE client_id = 'bff' AND consumed_at IS NULL"
    )[0][0])


def latest_grant(provider: Provider, username: str) -> tuple[str, int | None]:
    row = provider.query(
        "SELECT id, revoked_at FROM grants WHERE user_id = ? AND client_id = 'bff' "
        "ORDER BY created_at DESC, rowid DESC",
        sub(provider, username),
    )[0]
    return row[0], row[1]


# --- Logging in -----------------------------------------------------------------------------------


def test_k14_two_pending_logins_in_one_browser_both_complete_once(provider, bff, browser) -> None:
    """K14: tab A then tab B start a login; each callback completes, in any order; a replayed callback
    is refused before any token exchange (the first login's grant stays unrevoked, which a second
    redemption of its code would have revoked, K11)."""
    first = browser.start_login("/tab-a")
    second = browser.start_login("/tab-b")
    callback_a = browser.authorize(first, "alice", password(provider, "alice"))
    callback_b = browser.authorize(second, "alice", password(provider, "alice"))

    done_b = browser.finish_login(callback_b)
    done_a = browser.finish_login(callback_a)
    assert (done_b.status_code, done_b.headers["location"]) == (303, "/tab-b")
    assert (done_a.status_code, done_a.headers["location"]) == (303, "/tab-a")
    grant_id, revoked = latest_grant(provider, "alice")
    assert revoked is None

    replay = browser.finish_login(callback_a)
    assert error(replay) == (400, "invalid_request", INVALID_STATE)
    unknown = browser.finish_login(callback_a.replace("state=", "state=x"))
    assert error(unknown) == (400, "invalid_request", INVALID_STATE)
    assert provider.query("SELECT revoked_at FROM grants WHERE id = ?", grant_id)[0][0] is None


def test_k14_a_callback_carried_to_another_browser_completes_nothing(provider, bff, browser) -> None:
    """The pending login is bound to the browser that started it (login cookie): elsewhere it is refused,
    the code is never redeemed, and the state is spent."""
    callback = browser.authorize(browser.start_login(), "alice", password(provider, "alice"))
    before = unconsumed_codes(provider)
    victim = Browser(bff)
    try:
        refused = victim.finish_login(callback)
    finally:
        victim.close()
    assert error(refused) == (400, "invalid_request", "this login was started in another browser")
    assert victim.cookie(bff.settings.cookie_name) is None
    assert unconsumed_codes(provider) == before
    assert error(browser.finish_login(callback)) == (400, "invalid_request", INVALID_STATE)


@pytest.mark.parametrize("iss", [None, "https://other-as.example", "http"])
def test_k15_a_callback_without_the_issuer_is_refused_before_the_exchange(provider, bff, browser, iss) -> None:
    """K15 (RFC 9207): the provider advertises `iss` in authorization responses; one without it, or naming
    another issuer, is refused and the code is left unredeemed."""
    callback = httpx.URL(browser.authorize(browser.start_login(), "alice", password(provider, "alice")))
    assert callback.params["iss"] == provider.issuer
    params = dict(callback.params)
    params.pop("iss")
    if iss is not None:
        params["iss"] = iss
    before = unconsumed_codes(provider)
    refused = browser.finish_login(str(callback.copy_with(params=params)))
    assert error(refused) == (400, "invalid_request", "the authorization response comes from another issuer")
    assert browser.cookie(bff.settings.cookie_name) is None
    assert unconsumed_codes(provider) == before  # the code was never sent to the token endpoint


def test_k15_an_error_response_ends_the_login_without_an_exchange(provider, bff, browser) -> None:
    first = httpx.URL(browser.start_login())
    state = first.params["state"]
    refused = browser.finish_login(
        bff.settings.redirect_uri + f"?error=access_denied&state={state}&iss={provider.issuer}"
    )
    assert error(refused) == (400, "invalid_request", "the provider did not authorize the login: access_denied")


def test_k27_the_bff_authenticates_as_a_confidential_client(provider, other_bff) -> None:
    """K27: the BFF redeems its code with client_secret_basic; with a wrong secret the provider refuses
    (invalid_client) and no session is made, PKCE notwithstanding."""
    wrong = other_bff(client_secret="not-the-secret")
    browser = Browser(wrong)
    try:
        callback = browser.authorize(browser.start_login(), "alice", password(provider, "alice"))
        refused = browser.finish_login(callback)
        assert error(refused) == (502, "provider_error", "the provider refused the BFF's request")
        assert browser.cookie(wrong.settings.cookie_name) is None
    finally:
        browser.close()


def test_private_key_jwt_instead_of_a_secret(provider, other_bff) -> None:
    """With `private_key` the BFF authenticates by RFC 7523 assertions at /token and /revoke: it logs in,
    refreshes, and its logout revokes the grant."""
    pem, kid = provider.pkjwt_key
    keyed = other_bff(client_id="bff-pkjwt", client_secret=None, private_key=pem, private_key_kid=kid,
                      scope="openid profile offline_access")
    browser = Browser(keyed)
    try:
        browser.login("bob", password(provider, "bob"))
        assert browser.request("GET", "/api/notes").json()["sub"] == sub(provider, "bob")
        keyed.clock.offset = 600
        assert browser.request("GET", "/api/notes").status_code == 200  # a refresh, with a new assertion
        grant = provider.query(
            "SELECT id FROM grants WHERE client_id = 'bff-pkjwt' ORDER BY created_at DESC, rowid DESC"
        )[0][0]
        assert browser.request("POST", "/bff/logout").status_code == 200
        assert provider.query("SELECT revoked_at FROM grants WHERE id = ?", grant)[0][0] is not None
    finally:
        browser.close()


def test_exactly_one_client_credential_is_configured(provider) -> None:
    base = {"issuer": provider.issuer, "client_id": "bff", "secret_key": SECRET_KEY}
    with pytest.raises(ValidationError, match="give exactly one of client_secret"):
        BffSettings(**base)
    with pytest.raises(ValidationError, match="give exactly one of client_secret"):
        BffSettings(**base, client_secret="s", private_key=provider.pkjwt_key[0])
    with pytest.raises(ValidationError, match="private_key is not an unencrypted PEM private key"):
        BffSettings(**base, private_key="not a key")


def test_k28_secrets_states_nonces_and_csrf_headers_are_compared_in_constant_time(
    provider, bff, browser, monkeypatch
) -> None:
    """K28: the login binding, the `iss`, the nonce and the CSRF header all go through
    `constant_time_equals` (hashes of fixed length under hmac.compare_digest)."""
    import passportoffice.bff.csrf as csrf
    import passportoffice.bff.endpoints.callback as callback
    import passportoffice.bff.oidc as oidc
    from passportoffice.protocol.secrets import constant_time_equals

    calls: list[str] = []

    def spy(where: str) -> Any:
        def compare(a: str, b: str) -> bool:
            calls.append(where)
            return constant_time_equals(a, b)

        return compare

    for module, name in ((csrf, "csrf"), (callback, "callback"), (oidc, "oidc")):
        monkeypatch.setattr(module, "constant_time_equals", spy(name))
    browser.login("alice", password(provider, "alice"))
    assert browser.request("GET", "/bff/user").json()["authenticated"] is True
    assert calls == ["callback", "callback", "oidc", "csrf"]  # binding, iss, nonce, then the CSRF header


def test_k32_every_login_gets_a_fresh_session_id_and_ends_the_previous(provider, bff, browser) -> None:
    """K32: a cookie planted before login is never adopted; logging in again (another user on the same
    browser) issues a new id and ends the old session server-side."""
    browser.set_cookie(bff.settings.cookie_name, "planted-by-an-attacker")
    browser.login("alice", password(provider, "alice"))
    alice = browser.cookie(bff.settings.cookie_name)
    assert alice is not None and alice != "planted-by-an-attacker"

    browser.login("bob", password(provider, "bob"))
    bob = browser.cookie(bff.settings.cookie_name)
    assert bob not in (None, alice)
    assert browser.request("GET", "/bff/user").json()["user"]["preferred_username"] == "bob"
    browser.set_cookie(bff.settings.cookie_name, alice)
    assert browser.request("GET", "/bff/user").json() == {"authenticated": False}


@pytest.mark.parametrize("command", ["disable", "logout"])
def test_k33_ending_the_session_at_the_provider_ends_the_bff_session(provider, bff, browser, command) -> None:
    """K33: an admin ends alice's sessions at the provider (`users disable` / `users logout`); back-channel
    logout reaches the BFF and the next API call gets 401."""
    browser.login("alice", password(provider, "alice"))
    assert browser.request("GET", "/api/notes").status_code == 200
    runner = CliRunner()
    try:
        result = runner.invoke(cli_app, ["users", command, "alice"], env=provider.cli_env)
        assert result.exit_code == 0, result.output
        deadline = time.monotonic() + 15
        while browser.request("GET", "/bff/user").json()["authenticated"] and time.monotonic() < deadline:
            time.sleep(0.1)
        denied = browser.request("GET", "/api/notes")
        assert error(denied) == (401, "login_required", "no session: log in first")
    finally:
        runner.invoke(cli_app, ["users", "enable", "alice"], env=provider.cli_env)


def test_k36_cookie_attributes(provider, bff, browser) -> None:
    """K36: the session cookie is `__Host-`, Secure, HttpOnly, SameSite=Strict, Path=/, with no Domain; the
    login cookie likewise with SameSite=Lax (it must come back on the provider's redirect)."""
    started = browser.http.get(bff.url + "/bff/login")
    login_cookie = set_cookies(started)["__Host-passportoffice-bff-login"]
    browser.jar.take(started)
    done = browser.finish_login(browser.authorize(started.headers["location"], "alice", password(provider, "alice")))
    session_cookie = set_cookies(done)["__Host-passportoffice-bff"]
    for cookie, same_site in ((session_cookie, "strict"), (login_cookie, "lax")):
        assert cookie["secure"] == "" and cookie["httponly"] == "" and cookie["path"] == "/"
        assert cookie["samesite"].lower() == same_site
        assert "domain" not in cookie
    with pytest.raises(ValidationError, match="must start with __Host-"):
        BffSettings(issuer=provider.issuer, client_id="bff", client_secret="x", secret_key=SECRET_KEY,
                    cookie_name="bff-session")


# --- CSRF and the allow-list ------------------------------------------------------------------------


def test_k37_calls_without_the_header_or_from_another_origin_get_403_and_are_not_forwarded(
    provider, bff, browser
) -> None:
    """K37: no custom header, a wrong value, a foreign Origin, an unsafe method without Origin, a
    cross-site fetch and a CORS preflight: each 403, and the API sees none of them."""
    browser.login("alice", password(provider, "alice"))
    before = bff.api.count()
    cases = {
        "no header": browser.request("GET", "/api/notes", csrf=False),
        "wrong value": browser.request("GET", "/api/notes", csrf=False, headers={"X-Requested-With": "XMLHttpRequest"}),
        "foreign origin": browser.request("GET", "/api/notes", origin="https://evil.example"),
        "post without origin": browser.request("POST", "/api/notes", origin=False, json={"text": "x"}),
        "cross-site fetch": browser.request("GET", "/api/notes", headers={"Sec-Fetch-Site": "cross-site"}),
        "form post": browser.request("POST", "/api/notes", csrf=False, origin="https://evil.example",
                                     data={"text": "x"}),
        "preflight": browser.request("OPTIONS", "/api/notes", csrf=False, origin="https://evil.example",
                                     headers={"Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "x-requested-with"}),
        "logout without header": browser.request("POST", "/bff/logout", csrf=False),
        "user from another origin": browser.request("GET", "/bff/user", origin="https://evil.example"),
    }
    for name, response in cases.items():
        assert (name, response.status_code, response.json()["error"]) == (name, 403, "forbidden")
        assert "access-control-allow-origin" not in response.headers
    assert bff.api.count() == before
    assert browser.request("GET", "/bff/user").json()["authenticated"] is True  # logout did not happen


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/apix/notes"),
        ("GET", "/notes"),
        ("GET", "/api/../notes"),
        ("GET", "/api/%2e%2e/admin"),
        ("GET", "/api%2fnotes"),
        ("GET", "/api/x%2f..%2fadmin"),
        ("POST", "/readonly/notes"),
        ("GET", "/bff/tokens"),
    ],
)
def test_a_path_not_on_the_allow_list_gets_404_and_is_never_forwarded(provider, bff, browser, method, path) -> None:
    browser.login("alice", password(provider, "alice"))
    before = bff.api.count()
    response = browser.http.request(method, bff.url + path, headers={**browser.jar.header(), **CSRF,
                                                                     "Origin": bff.settings.origin})
    assert response.status_code == 404  # JSON `not_found` under an API prefix; the app's own 404 elsewhere
    assert bff.api.count() == before


def test_what_goes_upstream_and_what_comes_back(provider, bff, browser) -> None:
    """Upstream gets the BFF's bearer token and nothing of the browser's credentials or hop-by-hop fields;
    the browser gets the API's headers without Set-Cookie."""
    browser.login("alice", password(provider, "alice"))
    response = browser.request("GET", "/api/cookie?x=1", headers={
        "Authorization": "Bearer browser-supplied",
        "Connection": "x-private-hop",
        "X-Private-Hop": "1",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "X-Custom": "kept",
    })
    assert response.status_code == 200
    assert response.headers["x-upstream"] == "yes"
    assert "set-cookie" not in response.headers
    seen = bff.api.seen[-1]
    assert seen.subject == sub(provider, "alice") and seen.token != "browser-supplied"
    assert seen.headers["x-custom"] == "kept"
    for name in ("cookie", "x-requested-with", "origin", "x-private-hop", "proxy-authorization"):
        assert name not in seen.headers, name
    # The cookie the API set was not kept by the BFF's HTTP client either (it serves every user).
    assert browser.request("GET", "/api/notes").status_code == 200
    assert "cookie" not in bff.api.seen[-1].headers


def test_bodies_stream_both_ways(provider, bff, browser) -> None:
    browser.login("alice", password(provider, "alice"))
    payload = bytes(range(256)) * 8192  # 2 MiB

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    response = browser.request("POST", "/api/echo", content=chunks())
    assert response.status_code == 200
    assert response.content == payload


def test_a_body_over_the_limit_gets_413_and_is_not_forwarded(provider, other_bff) -> None:
    small = other_bff(max_body_bytes=4096)
    browser = Browser(small)
    try:
        browser.login("alice", password(provider, "alice"))
        before = small.api.count()
        declared = browser.request("POST", "/api/echo", content=b"x" * 5000)
        assert (declared.status_code, declared.json()["error"]) == (413, "payload_too_large")
        assert small.api.count() == before

        def chunked():  # type: ignore[no-untyped-def]
            yield b"x" * 3000
            yield b"x" * 3000

        # Without a declared length the body streams until it passes the limit; then the upstream request
        # is abandoned and the browser gets 413.
        streamed = browser.request("POST", "/api/echo", content=chunked())
        assert (streamed.status_code, streamed.json()["error"]) == (413, "payload_too_large")
    finally:
        browser.close()


def test_upstream_failures_are_a_clear_502_or_504(provider, bff, browser) -> None:
    browser.login("alice", password(provider, "alice"))
    down = browser.request("GET", "/down/anything")
    assert error(down) == (502, "upstream_unavailable", "the API could not be reached")
    started = time.monotonic()
    slow = browser.request("GET", "/api/slow")
    assert error(slow) == (504, "upstream_timeout", "the API did not answer in time")
    assert time.monotonic() - started < 4.5  # the 2 s upstream timeout, not the API's 5 s


# --- Tokens stay server-side, and are refreshed there -------------------------------------------------


def test_the_access_token_is_refreshed_once_for_parallel_calls_at_expiry(provider, bff, browser) -> None:
    """The BFF refreshes ahead of expiry, server-side; eight parallel calls at expiry cause one refresh at
    the provider, and all eight reach the API with the same new token."""
    browser.login("alice", password(provider, "alice"))
    assert browser.request("GET", "/api/notes").status_code == 200
    first_token = bff.api.seen[-1].token
    rotations = provider.refresh_rotations(sub(provider, "alice"))
    before = bff.api.count()
    bff.clock.offset = 600  # the 10-minute access token is now due, as far as the BFF can tell

    def call(_: int) -> int:
        with httpx.Client(timeout=20) as http:
            return http.get(bff.url + "/api/notes", headers={**browser.jar.header(), **CSRF}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(8)))
    assert statuses == [200] * 8
    tokens = {seen.token for seen in bff.api.seen[before:]}
    assert len(tokens) == 1 and first_token not in tokens
    assert all(seen.subject == sub(provider, "alice") for seen in bff.api.seen[before:])
    assert provider.refresh_rotations(sub(provider, "alice")) == rotations + 1
    assert browser.request("GET", "/bff/user").json()["authenticated"] is True


def test_a_refresh_token_the_provider_rejects_ends_the_session(provider, bff, browser) -> None:
    browser.login("alice", password(provider, "alice"))
    grant_id, _ = latest_grant(provider, "alice")
    provider.query("UPDATE grants SET revoked_at = ? WHERE id = ?", int(time.time()), grant_id)
    bff.clock.offset = 600
    denied = browser.request("GET", "/api/notes")
    assert error(denied) == (401, "login_required", "the session has ended: log in again")
    assert browser.request("GET", "/bff/user").json() == {"authenticated": False}


def test_idle_and_absolute_timeouts(provider, bff, browser) -> None:
    """A session unused for session_idle_ttl ends, and none outlives session_absolute_ttl even in use."""
    browser.login("alice", password(provider, "alice"))
    bff.clock.offset = bff.settings.session_idle_ttl - 120
    assert browser.request("GET", "/bff/user").json()["authenticated"] is True  # use resets the idle clock
    bff.clock.offset += bff.settings.session_idle_ttl - 120
    assert browser.request("GET", "/bff/user").json()["authenticated"] is True
    bff.clock.offset += bff.settings.session_idle_ttl + 1
    assert browser.request("GET", "/bff/user").json() == {"authenticated": False}

    browser.login("alice", password(provider, "alice"))
    created, step, absolute = bff.clock.offset, bff.settings.session_idle_ttl - 120, bff.settings.session_absolute_ttl
    while bff.clock.offset < created + 2 * absolute:
        bff.clock.offset += step  # used all along, never idle for long
        if not browser.request("GET", "/bff/user").json()["authenticated"]:
            break
    assert created + absolute < bff.clock.offset <= created + absolute + step
