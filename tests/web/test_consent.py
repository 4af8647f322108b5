"""The consent page for third-party clients: OIDC Core §3.1.2.4, §3.1.2.6 (consent_required), RFC 9207."""

from __future__ import annotations

import httpx
import pytest

from passportoffice.web.cookies import CSRF_COOKIE
from tests.support.flows import (
    PASSWORD,
    SPA_REDIRECT,
    Authorization,
    authorization_params,
    error_code,
    form_fields,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
PARTNER = "partner"
SESSION_COOKIE = "__Host-passportoffice-session"


@pytest.fixture
async def partner(flows):
    """A third-party client (not first-party), so it must ask the user."""
    await flows.add_user()
    await flows.add_client()
    return await flows.add_client(PARTNER, first_party=False)


async def sign_in(flows) -> None:
    """Give the browser an IdP session through the first-party client (no consent involved)."""
    await flows.authorize("spa")


async def authorize(flows, **params: str | None) -> tuple[dict[str, str], httpx.Response]:
    request = authorization_params(PARTNER, **params)
    return request, await flows.http.get("/authorize", params=request)


def assert_goes_to_consent(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/consent?"), location
    return location


def assert_code(response: httpx.Response, params: dict[str, str]) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(SPA_REDIRECT + "?"), location
    query = query_of(location)
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER
    return query["code"]


async def decide(flows, consent_location: str, decision: str) -> httpx.Response:
    page = await flows.http.get(consent_location)
    assert page.status_code == 200, page.text
    return await flows.http.post("/consent", data={**form_fields(page.text), "decision": decision})


# --- The page --------------------------------------------------------------------------------------


async def test_third_party_client_gets_the_consent_page_after_login(flows, partner):
    """A non-first-party client's request goes from login to a consent page listing the client and scopes."""
    _, response = await authorize(flows, scope="openid email")
    login_page = await flows.http.get(response.headers["location"])
    after_login = await flows.http.post(
        "/login", data={**form_fields(login_page.text), "username": "alice", "password": PASSWORD}
    )
    page = await flows.http.get(assert_goes_to_consent(after_login))
    assert page.status_code == 200
    assert '<form method="post" action="/consent">' in page.text
    assert set(form_fields(page.text)) == {"request_id", "csrf_token"}
    assert 'name="decision" value="allow"' in page.text
    assert 'name="decision" value="deny"' in page.text
    assert "<strong>partner</strong>" in page.text
    assert "<li>openid</li><li>email</li>" in page.text


async def test_consent_page_has_the_html_security_headers(flows, partner):
    """The consent page sends CSP frame-ancestors 'none', Referrer-Policy no-referrer and nosniff."""
    await sign_in(flows)
    _, response = await authorize(flows)
    page = await flows.http.get(assert_goes_to_consent(response))
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_first_party_client_skips_consent(flows, partner):
    """A first-party client gets its code straight after login, without a consent page."""
    auth = await flows.authorize("spa")
    assert auth.code


# --- Deny and allow --------------------------------------------------------------------------------


async def test_deny_redirects_access_denied_with_state_and_iss(flows, partner):
    """Denying redirects access_denied with state and iss, and nothing is remembered."""
    await sign_in(flows)
    params, response = await authorize(flows)
    denied = await decide(flows, assert_goes_to_consent(response), "deny")
    assert denied.status_code == 303
    assert denied.headers["location"].startswith(SPA_REDIRECT + "?")
    query = query_of(denied.headers["location"])
    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER
    assert "code" not in query
    _, again = await authorize(flows)
    assert_goes_to_consent(again)


async def test_an_unknown_decision_is_a_denial(flows, partner):
    """Any decision other than `allow` (or none at all) is treated as access_denied."""
    await sign_in(flows)
    for decision in ("maybe", ""):
        params, response = await authorize(flows)
        answered = await decide(flows, assert_goes_to_consent(response), decision)
        query = query_of(answered.headers["location"])
        assert query["error"] == "access_denied"
        assert query["state"] == params["state"]
        assert query["iss"] == ISSUER


async def test_allow_issues_a_code_that_redeems(flows, partner):
    """Allowing redirects with a code, state and iss; the code redeems at the token endpoint."""
    await sign_in(flows)
    verifier, challenge = pkce_pair()
    params, response = await authorize(flows, code_challenge=challenge)
    code = assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    auth = Authorization(code, verifier, SPA_REDIRECT, params["state"], params["nonce"])
    assert (await flows.exchange(auth, PARTNER)).status_code == 200


async def test_consent_is_remembered_for_the_same_scopes(flows, partner):
    """After allowing, the next authorization for the same (or fewer) scopes skips the consent page."""
    await sign_in(flows)
    params, response = await authorize(flows, scope="openid profile email")
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    for scope in ("openid profile email", "openid email"):
        params, response = await authorize(flows, scope=scope)
        assert_code(response, params)


async def test_a_wider_scope_asks_again(flows, partner):
    """A request for a scope not yet consented to shows the consent page again; then both are remembered."""
    await sign_in(flows)
    params, response = await authorize(flows, scope="openid")
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    params, response = await authorize(flows, scope="openid notes:read")
    location = assert_goes_to_consent(response)
    page = await flows.http.get(location)
    assert "<li>notes:read</li>" in page.text
    assert_code(await flows.http.post("/consent", data={**form_fields(page.text), "decision": "allow"}), params)
    params, response = await authorize(flows, scope="notes:read openid")
    assert_code(response, params)


async def test_prompt_consent_always_asks(flows, partner):
    """prompt=consent shows the consent page even when the scopes were consented to before."""
    await sign_in(flows)
    params, response = await authorize(flows)
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    params, response = await authorize(flows, prompt="consent")
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)


async def test_prompt_none_without_consent_is_consent_required(flows, partner):
    """prompt=none when consent would be needed redirects consent_required with state and iss."""
    await sign_in(flows)
    params, response = await authorize(flows, prompt="none")
    assert response.status_code == 303
    query = query_of(response.headers["location"])
    assert response.headers["location"].startswith(SPA_REDIRECT + "?")
    assert query["error"] == "consent_required"
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER


async def test_prompt_none_after_consent_returns_a_code(flows, partner):
    """prompt=none succeeds once the user has consented to those scopes."""
    await sign_in(flows)
    params, response = await authorize(flows)
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    params, response = await authorize(flows, prompt="none")
    assert_code(response, params)


async def test_consent_is_per_user(flows, partner):
    """One user's consent does not cover another user of the same client."""
    await flows.add_user("bob")
    await sign_in(flows)
    params, response = await authorize(flows)
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    _, response = await authorize(flows, prompt="login")
    login_page = await flows.http.get(response.headers["location"])
    after = await flows.http.post(
        "/login", data={**form_fields(login_page.text), "username": "bob", "password": PASSWORD}
    )
    assert_goes_to_consent(after)


async def test_consent_is_per_client(flows, partner):
    """Consent given to one third-party client does not cover another."""
    await flows.add_client("other-partner", first_party=False)
    await sign_in(flows)
    params, response = await authorize(flows)
    assert_code(await decide(flows, assert_goes_to_consent(response), "allow"), params)
    response = await flows.http.get("/authorize", params=authorization_params("other-partner"))
    assert_goes_to_consent(response)


# --- Sign-in demands together with consent ---------------------------------------------------------


@pytest.mark.parametrize("demand", [{"prompt": "login"}, {"prompt": "login consent"}, {"max_age": "0"}])
async def test_sign_in_demand_and_consent_need_one_login_and_one_consent(flows, partner, demand):
    """prompt=login / max_age=0 with a consent step: one login, one consent, then the code (no loop)."""
    await sign_in(flows)
    params, response = await authorize(flows, **demand)
    assert response.headers["location"].startswith("/login?")
    login_page = await flows.http.get(response.headers["location"])
    after_login = await flows.http.post(
        "/login", data={**form_fields(login_page.text), "username": "alice", "password": PASSWORD}
    )
    assert_code(await decide(flows, assert_goes_to_consent(after_login), "allow"), params)


async def test_consent_page_without_a_session_sends_to_login(flows, partner):
    """A consent URL opened without an IdP session leads to the login page, not to a code."""
    await sign_in(flows)
    _, response = await authorize(flows)
    location = assert_goes_to_consent(response)
    flows.http.cookies.delete(SESSION_COOKIE)
    page = await flows.http.get(location)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?")


# --- CSRF and replay -------------------------------------------------------------------------------


async def test_consent_post_without_the_csrf_cookie_is_refused(flows, partner):
    """A consent POST without the CSRF cookie gets a 400 invalid_request page and remembers nothing."""
    await sign_in(flows)
    _, response = await authorize(flows)
    page = await flows.http.get(assert_goes_to_consent(response))
    flows.http.cookies.delete(CSRF_COOKIE)
    refused = await flows.http.post("/consent", data={**form_fields(page.text), "decision": "allow"})
    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert error_code(refused) == "invalid_request"
    _, again = await authorize(flows)
    assert_goes_to_consent(again)


async def test_consent_post_with_a_wrong_csrf_token_is_refused(flows, partner):
    """A consent POST with a wrong csrf_token gets a 400 invalid_request page."""
    await sign_in(flows)
    _, response = await authorize(flows)
    page = await flows.http.get(assert_goes_to_consent(response))
    fields = {**form_fields(page.text), "csrf_token": "0" * 64, "decision": "allow"}
    refused = await flows.http.post("/consent", data=fields)
    assert refused.status_code == 400
    assert error_code(refused) == "invalid_request"


async def test_consent_form_cannot_be_replayed(flows, partner):
    """A consent form answered once cannot be submitted again (400 page)."""
    await sign_in(flows)
    params, response = await authorize(flows)
    page = await flows.http.get(assert_goes_to_consent(response))
    fields = {**form_fields(page.text), "decision": "allow"}
    assert_code(await flows.http.post("/consent", data=fields), params)
    replayed = await flows.http.post("/consent", data=fields)
    assert replayed.status_code == 400
    assert error_code(replayed) == "invalid_request"


async def test_unknown_consent_request_is_an_error_page(flows, partner):
    """GET /consent for an unknown request id gets a 400 invalid_request page."""
    await sign_in(flows)
    response = await flows.http.get("/consent", params={"request_id": "unknown"})
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"
