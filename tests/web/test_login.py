"""The sign-in page: OIDC Core §3.1.2.3; CSRF, argon2id, throttling and the IdP session cookie
(K29, K30, K32, K36, K43)."""

from __future__ import annotations

import asyncio
import re
import threading

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from pydantic import ValidationError

from passportoffice.provider.identity import username_key
from passportoffice.settings import Settings
from passportoffice.web.app import create_app
from passportoffice.web.cookies import CSRF_COOKIE
from tests.conftest import settings_for as make_settings
from tests.support.flows import (
    PASSWORD,
    SPA_REDIRECT,
    authorization_params,
    error_code,
    form_fields,
    query_of,
    set_cookies,
)

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
SESSION_COOKIE = "__Host-passportoffice-session"
ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5
WINDOW = 900


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:
    """Small throttling limits, so the tests can reach them (on each backend, like the rest of the suite)."""
    return make_settings(
        tmp_path,
        database_url=database_url,
        login_max_failures_per_account=ACCOUNT_LIMIT,
        login_max_failures_per_address=ADDRESS_LIMIT,
        login_throttle_window=WINDOW,
    )


@pytest.fixture
async def spa(flows):
    await flows.add_user()
    return await flows.add_client()


@pytest.fixture
def argon2_verifications(monkeypatch):
    """Counts every argon2 verification the provider's PasswordChecker performs (real or dummy)."""
    calls: list[str] = []
    lock = threading.Lock()
    original = PasswordHasher.verify

    def counting(self, password_hash, password):
        with lock:
            calls.append(password_hash)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


async def open_login(http: httpx.AsyncClient, **params: str) -> dict[str, str]:
    """Start an authorization request and load the login form; returns its hidden fields."""
    response = await http.get("/authorize", params=authorization_params(**params))
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login?")
    page = await http.get(response.headers["location"])
    assert page.status_code == 200, page.text
    return form_fields(page.text)


async def submit(http: httpx.AsyncClient, fields: dict[str, str], username: str, password: str) -> httpx.Response:
    return await http.post("/login", data={**fields, "username": username, "password": password})


def assert_error_page(response: httpx.Response, error: str = "invalid_request", status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert error_code(response) == error


def assert_signed_in(response: httpx.Response) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(SPA_REDIRECT + "?")
    assert "code" in query_of(response.headers["location"])
    assert SESSION_COOKIE in set_cookies(response)


def comparable(response: httpx.Response, username: str) -> tuple[int, str, str]:
    """Status, content type and body with the per-response CSP nonce and the echoed username blanked."""
    body = re.sub(r'nonce="[^"]*"', 'nonce=""', response.text)
    body = body.replace(f'name="username" value="{username}"', 'name="username" value=""')
    return response.status_code, response.headers["content-type"], body


def browser(provider, address: str) -> httpx.AsyncClient:
    """Another browser, on another client address, talking to the same provider."""
    transport = httpx.ASGITransport(app=create_app(provider, run_cleanup=False), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=ISSUER)


# --- The form and its CSRF protection --------------------------------------------------------------


async def test_login_form_has_csrf_token_and_username_password_fields(flows, spa):
    """The login page is a POST form with request_id, csrf_token, `username` and `password` fields."""
    response = await flows.http.get("/authorize", params=authorization_params())
    page = await flows.http.get(response.headers["location"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in page.text
    fields = form_fields(page.text)
    assert set(fields) == {"request_id", "csrf_token"}
    assert len(fields["csrf_token"]) == 64
    assert re.search(r'<input type="text" id="username" name="username"', page.text)
    assert re.search(r'<input type="password" id="password" name="password"', page.text)
    assert "<script" not in page.text


async def test_login_page_loads_no_external_assets(flows, spa):
    """The login page references no external script, stylesheet or image."""
    response = await flows.http.get("/authorize", params=authorization_params())
    page = await flows.http.get(response.headers["location"])
    assert not re.search(r'(src|href)="', page.text)
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_login_page_has_the_html_security_headers(flows, spa):
    """The login page sends CSP frame-ancestors 'none', Referrer-Policy no-referrer and nosniff."""
    response = await flows.http.get("/authorize", params=authorization_params())
    fields = await open_login(flows.http)
    pages = [
        await flows.http.get(response.headers["location"]),
        await submit(flows.http, fields, "alice", "wrong"),
    ]
    for page in pages:
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"


async def test_csrf_cookie_is_a_host_cookie(flows, spa):
    """The CSRF binding cookie is `__Host-` prefixed: Secure, Path=/, HttpOnly, SameSite=Strict, no Domain."""
    response = await flows.http.get("/authorize", params=authorization_params())
    page = await flows.http.get(response.headers["location"])
    cookie = set_cookies(page)[CSRF_COOKIE]
    assert {"secure", "httponly"} <= set(cookie)
    assert cookie["path"] == "/"
    assert cookie["samesite"].lower() == "strict"
    assert "domain" not in cookie


@pytest.mark.parametrize("request_id", [None, "unknown", "x" * 65])
async def test_login_page_for_an_unknown_request_is_an_error_page(flows, spa, request_id):
    """GET /login without a live pending request gets a 400 invalid_request page."""
    response = await flows.http.get("/login", params={"request_id": request_id} if request_id else {})
    assert_error_page(response)


async def test_post_without_the_csrf_cookie_is_refused(flows, spa, argon2_verifications):
    """A login POST without the CSRF cookie gets a 400 invalid_request page and no password check."""
    fields = await open_login(flows.http)
    flows.http.cookies.delete(CSRF_COOKIE)
    response = await submit(flows.http, fields, "alice", PASSWORD)
    assert_error_page(response)
    assert SESSION_COOKIE not in set_cookies(response)
    assert argon2_verifications == []


@pytest.mark.parametrize("token", [None, "0" * 64, "not-a-token"])
async def test_post_with_a_missing_or_wrong_csrf_token_is_refused(flows, spa, token, argon2_verifications):
    """A login POST with a missing or wrong csrf_token gets a 400 invalid_request page."""
    fields = await open_login(flows.http)
    fields.pop("csrf_token")
    if token is not None:
        fields["csrf_token"] = token
    response = await submit(flows.http, fields, "alice", PASSWORD)
    assert_error_page(response)
    assert argon2_verifications == []


async def test_csrf_token_of_another_request_is_refused(flows, spa):
    """A CSRF token is bound to its pending request: one from another request is refused."""
    first = await open_login(flows.http)
    second = await open_login(flows.http)
    response = await submit(flows.http, {**second, "csrf_token": first["csrf_token"]}, "alice", PASSWORD)
    assert_error_page(response)


async def test_csrf_token_from_another_browser_is_refused(flows, spa, provider):
    """A CSRF token is bound to the browser's cookie: a token loaded by another browser is refused."""
    fields = await open_login(flows.http)
    async with browser(provider, "203.0.113.7") as other:
        other_page = await other.get("/login", params={"request_id": fields["request_id"]})
        response = await submit(flows.http, form_fields(other_page.text), "alice", PASSWORD)
    assert_error_page(response)


async def test_post_with_a_json_body_is_refused(flows, spa):
    """The login form must be posted form-encoded; anything else is a 400 invalid_request page."""
    fields = await open_login(flows.http)
    response = await flows.http.post("/login", json={**fields, "username": "alice", "password": PASSWORD})
    assert_error_page(response)


async def test_expired_pending_request_is_an_error_page(flows, spa, clock):
    """A login form submitted after the pending request expired gets a 400 page, not a session."""
    fields = await open_login(flows.http)
    clock.advance(flows.provider.settings.authorization_request_ttl + 1)
    response = await submit(flows.http, fields, "alice", PASSWORD)
    assert_error_page(response)
    assert SESSION_COOKIE not in set_cookies(response)


async def test_a_used_login_form_cannot_be_submitted_again(flows, spa):
    """After a successful sign-in the pending request is gone, so replaying the form is a 400 page."""
    fields = await open_login(flows.http)
    assert_signed_in(await submit(flows.http, fields, "alice", PASSWORD))
    assert_error_page(await submit(flows.http, fields, "alice", PASSWORD))


# --- Successful sign-in and the session cookie ------------------------------------------------------


async def test_successful_login_redirects_with_code_state_and_iss(flows, spa):
    """A correct password continues the authorization: 303 to the client with code, state and iss."""
    params = authorization_params()
    response = await flows.http.get("/authorize", params=params)
    page = await flows.http.get(response.headers["location"])
    signed_in = await submit(flows.http, form_fields(page.text), "alice", PASSWORD)
    assert_signed_in(signed_in)
    query = query_of(signed_in.headers["location"])
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER


async def test_username_is_matched_by_its_normalised_key(flows, spa):
    """The username is looked up NFKC-casefolded: `ALICE` and a KELVIN SIGN look-alike find the account."""
    await flows.add_user("kate")
    for typed in ("ALICE", " alice "):
        assert_signed_in(await submit(flows.http, await open_login(flows.http, prompt="login"), typed, PASSWORD))
    assert_signed_in(await submit(flows.http, await open_login(flows.http, prompt="login"), "\u212aate", PASSWORD))


async def test_k36_session_cookie_is_host_prefixed_httponly_secure_lax(flows, spa):
    """K36: the session cookie is `__Host-passportoffice-session`, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain."""
    fields = await open_login(flows.http)
    response = await submit(flows.http, fields, "alice", PASSWORD)
    assert_signed_in(response)
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "=")]
    assert len(headers) == 1
    cookie = set_cookies(response)[SESSION_COOKIE]
    assert len(cookie["value"]) >= 43
    assert "httponly" in cookie
    assert "secure" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert "domain" not in cookie


def test_k36_a_session_cookie_name_without_the_host_prefix_fails_at_startup(tmp_path):
    """K36: settings whose session cookie name lacks the `__Host-` prefix are refused at start-up."""
    with pytest.raises(ValidationError):
        make_settings(tmp_path, session_cookie_name="passportoffice-session")


async def test_k32_every_login_issues_a_fresh_session_id_and_ends_the_previous_one(flows, spa, provider):
    """K32: a second sign-in gets a new session id and sid, and the session it replaces is ended."""
    await flows.authorize()
    first = flows.http.cookies[SESSION_COOKIE]
    first_session = await provider.storage.get_session(provider.hash(first), provider.now())
    assert first_session is not None
    fields = await open_login(flows.http, prompt="login")
    assert_signed_in(await submit(flows.http, fields, "alice", PASSWORD))
    second = flows.http.cookies[SESSION_COOKIE]
    assert second != first
    assert await provider.storage.get_session(provider.hash(first), provider.now()) is None
    ended = await provider.storage.get_session_by_sid(first_session.sid)
    assert ended is not None and ended.ended_at is not None
    current = await provider.storage.get_session(provider.hash(second), provider.now())
    assert current is not None and current.sid != first_session.sid


async def test_k32_another_user_on_the_same_browser_never_inherits_the_session(flows, spa, provider):
    """K32: when user B signs in on a browser holding A's session, A's session ends and B's tokens get a new sid."""
    import jwt

    await flows.add_user("bob")
    body_a = await flows.tokens()
    sid_a = jwt.decode(body_a["id_token"], options={"verify_signature": False})["sid"]
    fields = await open_login(flows.http, prompt="login")
    response = await submit(flows.http, fields, "bob", PASSWORD)
    assert_signed_in(response)
    session_a = await provider.storage.get_session_by_sid(sid_a)
    assert session_a is not None and session_a.ended_at is not None
    current = await provider.storage.get_session(provider.hash(flows.http.cookies[SESSION_COOKIE]), provider.now())
    assert current is not None and current.sid != sid_a
    refreshed = await flows.refresh(body_a["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_k32_a_planted_session_cookie_is_replaced_at_login(flows, spa, provider):
    """K32: a session id planted in the browser before sign-in is never adopted; login sets a new one."""
    planted = "attacker-chosen-session-id-0123456789abcdefghijklmnop"
    flows.http.cookies.set(SESSION_COOKIE, planted, domain="idp.example", path="/")
    fields = await open_login(flows.http)
    response = await submit(flows.http, fields, "alice", PASSWORD)
    assert_signed_in(response)
    assert set_cookies(response)[SESSION_COOKIE]["value"] != planted
    assert await provider.storage.get_session(provider.hash(planted), provider.now()) is None


# --- K29: no account enumeration ---------------------------------------------------------------------


async def test_k29_unknown_user_and_wrong_password_get_the_same_response(flows, spa, argon2_verifications):
    """K29: unknown user and wrong password: same 401 page (bar nonce and echoed name), one argon2 verify each."""
    fields = await open_login(flows.http)
    wrong_password = await submit(flows.http, fields, "alice", "not the password")
    assert len(argon2_verifications) == 1
    unknown_user = await submit(flows.http, fields, "mallory", "not the password")
    assert len(argon2_verifications) == 2
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert comparable(wrong_password, "alice") == comparable(unknown_user, "mallory")
    assert form_fields(wrong_password.text) == form_fields(unknown_user.text)
    assert "location" not in wrong_password.headers and "location" not in unknown_user.headers
    assert SESSION_COOKIE not in set_cookies(wrong_password) | set_cookies(unknown_user)


async def test_k29_unknown_user_runs_a_dummy_argon2_verification(flows, spa, argon2_verifications):
    """K29: for an unknown user the provider still verifies against a dummy argon2id hash, exactly once."""
    fields = await open_login(flows.http)
    response = await submit(flows.http, fields, "nobody-here", "whatever")
    assert response.status_code == 401
    assert len(argon2_verifications) == 1
    assert argon2_verifications[0].startswith("$argon2id$")


async def test_disabled_user_gets_the_generic_response(flows, spa, provider, argon2_verifications):
    """A disabled user cannot sign in, and gets the same 401 page as a wrong password (one argon2 verify)."""
    await flows.add_user("dora")
    await provider.storage.set_user_disabled(username_key("dora"), True)
    fields = await open_login(flows.http)
    disabled = await submit(flows.http, fields, "dora", PASSWORD)
    wrong = await submit(flows.http, fields, "alice", "not the password")
    assert disabled.status_code == 401
    assert comparable(disabled, "dora") == comparable(wrong, "alice")
    assert len(argon2_verifications) == 2
    assert SESSION_COOKIE not in set_cookies(disabled)


# --- K43: huge passwords and bodies -----------------------------------------------------------------


@pytest.mark.parametrize("password", ["x" * 1025, "é" * 513, "p" * 8000], ids=["1025-ascii", "1026-utf8", "8000"])
async def test_k43_long_password_is_refused_generically_without_argon2(flows, spa, argon2_verifications, password):
    """K43: a password over 1024 bytes gets the generic 401 page for known and unknown users, without argon2."""
    fields = await open_login(flows.http)
    known = await submit(flows.http, fields, "alice", password)
    unknown = await submit(flows.http, fields, "mallory", password)
    assert known.status_code == unknown.status_code == 401
    assert comparable(known, "alice") == comparable(unknown, "mallory")
    assert argon2_verifications == []


async def test_k43_a_megabyte_password_is_refused_before_parsing_without_argon2(flows, spa, argon2_verifications):
    """K43: a 1 MB password is refused by the body cap (413 invalid_request) alike for any user, without argon2."""
    fields = await open_login(flows.http)
    known = await submit(flows.http, fields, "alice", "x" * 1_000_000)
    unknown = await submit(flows.http, fields, "mallory", "x" * 1_000_000)
    for response in (known, unknown):
        assert_error_page(response, "invalid_request", 413)
    assert comparable(known, "alice") == comparable(unknown, "mallory")
    assert argon2_verifications == []


async def test_k43_a_body_over_max_body_bytes_is_413(flows, spa, provider, argon2_verifications):
    """K43: a login body over max_body_bytes is refused with 413, declared or streamed without a length."""
    fields = await open_login(flows.http)
    limit = provider.settings.max_body_bytes
    body = ("&".join(f"{k}={v}" for k, v in fields.items()) + "&username=alice&password=" + "x" * limit).encode()
    declared = await flows.http.post(
        "/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_error_page(declared, "invalid_request", 413)

    async def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    streamed = await flows.http.post(
        "/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert "content-length" not in streamed.request.headers
    assert_error_page(streamed, "invalid_request", 413)
    assert argon2_verifications == []


# --- K30: throttling that parallel requests cannot race past -----------------------------------------


async def test_k30_parallel_wrong_passwords_get_at_most_the_limit_of_evaluations(
    flows, spa, argon2_verifications, clock
):
    """K30: 20 parallel wrong-password POSTs: at most 3 argon2 evaluations (401), every other one 429."""
    fields = await open_login(flows.http)
    responses = await asyncio.gather(*(submit(flows.http, fields, "alice", f"guess-{i}") for i in range(20)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * ACCOUNT_LIMIT + [429] * (20 - ACCOUNT_LIMIT)
    assert len(argon2_verifications) == ACCOUNT_LIMIT
    throttled = next(response for response in responses if response.status_code == 429)
    assert set(form_fields(throttled.text)) == {"request_id", "csrf_token"}
    assert SESSION_COOKIE not in set_cookies(throttled)


async def test_k30_throttled_account_refuses_even_the_right_password_until_the_window_passes(
    flows, spa, argon2_verifications, clock
):
    """K30: once throttled, the right password is refused (429, no argon2) until the window has passed."""
    fields = await open_login(flows.http)
    for attempt in range(ACCOUNT_LIMIT):
        assert (await submit(flows.http, fields, "alice", f"guess-{attempt}")).status_code == 401
    evaluated = len(argon2_verifications)
    assert (await submit(flows.http, fields, "alice", PASSWORD)).status_code == 429
    assert len(argon2_verifications) == evaluated
    clock.advance(WINDOW - 1)
    fields = await open_login(flows.http)  # the first pending request has expired by now
    assert (await submit(flows.http, fields, "alice", PASSWORD)).status_code == 429
    clock.advance(1)
    assert_signed_in(await submit(flows.http, fields, "alice", PASSWORD))


async def test_k30_a_success_does_not_reset_earlier_failures(flows, spa):
    """K30: two failures, then a success, then one failure reach the limit of 3: the next attempt is 429."""
    for attempt in range(2):
        fields = await open_login(flows.http)
        assert (await submit(flows.http, fields, "alice", f"guess-{attempt}")).status_code == 401
    assert_signed_in(await submit(flows.http, fields, "alice", PASSWORD))
    fields = await open_login(flows.http, prompt="login")
    assert (await submit(flows.http, fields, "alice", "guess-3")).status_code == 401
    assert (await submit(flows.http, fields, "alice", PASSWORD)).status_code == 429


async def test_k30_parallel_success_does_not_erase_racing_failures(flows, spa, argon2_verifications):
    """K30: a correct password racing wrong ones gives back only its own attempt; the failures still count."""
    fields = await open_login(flows.http)
    attempts = [submit(flows.http, fields, "alice", "guess-a"), submit(flows.http, fields, "alice", "guess-b")]
    attempts.append(submit(flows.http, fields, "alice", PASSWORD))
    responses = await asyncio.gather(*attempts)
    assert sorted(response.status_code for response in responses) == [303, 401, 401]
    fields = await open_login(flows.http, prompt="login")
    assert (await submit(flows.http, fields, "alice", "guess-c")).status_code == 401
    assert (await submit(flows.http, fields, "alice", PASSWORD)).status_code == 429


async def test_throttling_is_per_address_too(flows, spa, provider):
    """Failures across many usernames from one address throttle that address; another address still signs in."""
    fields = await open_login(flows.http)
    for i in range(ADDRESS_LIMIT):
        assert (await submit(flows.http, fields, f"user-{i}", "guess")).status_code == 401
    assert (await submit(flows.http, fields, "alice", PASSWORD)).status_code == 429
    async with browser(provider, "198.51.100.9") as other:
        other_fields = await open_login(other)
        assert_signed_in(await submit(other, other_fields, "alice", PASSWORD))


async def test_attempts_refused_for_the_address_do_not_count_against_the_account(flows, spa, provider):
    """A throttled address cannot lock accounts out: its refused attempts are not counted as account failures."""
    fields = await open_login(flows.http)
    for i in range(ADDRESS_LIMIT):
        assert (await submit(flows.http, fields, f"user-{i}", "guess")).status_code == 401
    for _ in range(ACCOUNT_LIMIT + 2):
        assert (await submit(flows.http, fields, "alice", "guess")).status_code == 429
    async with browser(provider, "198.51.100.9") as other:
        assert_signed_in(await submit(other, await open_login(other), "alice", PASSWORD))


async def test_throttling_is_per_account_across_addresses(flows, spa, provider):
    """Failures for one account from several addresses throttle the account everywhere."""
    for i in range(ACCOUNT_LIMIT):
        async with browser(provider, f"198.51.100.{i + 10}") as other:
            fields = await open_login(other)
            assert (await submit(other, fields, "alice", "guess")).status_code == 401
    fields = await open_login(flows.http)
    assert (await submit(flows.http, fields, "alice", PASSWORD)).status_code == 429


# --- Password rehash ---------------------------------------------------------------------------------


async def test_password_is_rehashed_when_the_argon2_parameters_change(flows, spa, provider):
    """A hash made with other argon2 parameters is replaced by one with the current parameters at login."""
    old_hasher = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1, type=Type.ID)
    old_hash = old_hasher.hash(PASSWORD)
    user = await flows.add_user("olga")
    await provider.storage.set_password_hash(user.id, old_hash)
    assert provider.passwords.needs_rehash(old_hash)
    fields = await open_login(flows.http)
    assert_signed_in(await submit(flows.http, fields, "olga", PASSWORD))
    stored = await provider.storage.find_user(username_key("olga"))
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash != old_hash
    assert not provider.passwords.needs_rehash(stored.password_hash)
    assert await provider.passwords.verify(stored.password_hash, PASSWORD)


async def test_password_with_current_parameters_is_not_rehashed(flows, spa, provider):
    """A hash that already uses the current parameters is left as it is."""
    before = await provider.storage.find_user(username_key("alice"))
    fields = await open_login(flows.http)
    assert_signed_in(await submit(flows.http, fields, "alice", PASSWORD))
    after = await provider.storage.find_user(username_key("alice"))
    assert before is not None and after is not None
    assert after.password_hash == before.password_hash


async def test_k28_csrf_tokens_are_compared_with_the_constant_time_helper(flows, spa, monkeypatch):
    """K28: the sign-in form's CSRF token is checked by constant_time_equals, for a right and a wrong token."""
    from passportoffice.protocol import secrets as secret_rules
    from passportoffice.web import cookies

    calls: list[tuple[str, str]] = []

    def recording(a: str, b: str) -> bool:
        calls.append((a, b))
        return secret_rules.constant_time_equals(a, b)

    monkeypatch.setattr(cookies, "constant_time_equals", recording)
    fields = await open_login(flows.http)
    wrong = await submit(flows.http, {**fields, "csrf_token": "f" * 64}, "alice", PASSWORD)
    assert_error_page(wrong)
    assert calls == [(fields["csrf_token"], "f" * 64)]
    calls.clear()
    assert_signed_in(await submit(flows.http, fields, "alice", PASSWORD))
    assert calls == [(fields["csrf_token"], fields["csrf_token"])]
