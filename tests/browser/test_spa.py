"""The demo SPA and the browser SDK (js/) in real Chromium, against the real demo processes (issue 4).

Provider, notes API and SPA run as `passportoffice demo` does, on free ports, with a 60 s access token
lifetime so that expiry happens within a test. Refresh calls are counted at the server, in the
provider's access log, and rotations in its database.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from passportoffice.cli.demo import APP_CLIENT_ID, DEMO_PASSWORD, DEMO_USERNAME
from tests.demo import Demo, running_demo
from tests.support.static_site import static_site

pytestmark = pytest.mark.browser

ACCESS_TOKEN_TTL = 60  # the provider's minimum; the SDK refreshes LEEWAY (30 s) before expiry
REFRESH_COOKIE = f"__Host-passportoffice-refresh-{APP_CLIENT_ID}"
LOGGED_IN = "body[data-state=logged-in]"
LOGGED_OUT = "body[data-state=logged-out]"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("spa")
    settings = {"PASSPORTOFFICE_ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL)}
    with running_demo(root / "data", root / "logs", settings) as demo:
        yield demo


# --- what the server saw ---------------------------------------------------------------------------


def refresh_calls(demo: Demo, status: int = 200) -> int:
    """POSTs to /token/refresh answered with `status`, from the provider's access log."""
    return demo.stderr.read_text().count(f"POST /token/refresh {status} ")


def token_calls(demo: Demo) -> int:
    return demo.stderr.read_text().count("POST /token 200 ")


def rotations(demo: Demo) -> int:
    """Refresh tokens the provider has rotated (each successful refresh rotates exactly one)."""
    with sqlite3.connect(demo.data_dir / "passportoffice.db") as db:
        (count,) = db.execute("SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL").fetchone()
    return int(count)


def refresh_cookie(context: BrowserContext) -> dict[str, Any]:
    [cookie] = [cookie for cookie in context.cookies() if cookie["name"] == REFRESH_COOKIE]
    return dict(cookie)


# --- what a person does ------------------------------------------------------------------------------


def open_app(context: BrowserContext, demo: Demo) -> Page:
    page = context.new_page()
    page.goto(f"{demo.app}/")
    page.wait_for_selector("body[data-ready=true]")
    return page


def sign_in_at_provider(page: Page, demo: Demo, password: str = DEMO_PASSWORD) -> None:
    page.wait_for_url(re.compile(re.escape(f"{demo.provider}/login?")))
    page.fill("#username", DEMO_USERNAME)
    page.fill("#password", password)
    page.click("button[type=submit]")


def log_in(context: BrowserContext, demo: Demo) -> Page:
    page = open_app(context, demo)
    expect(page.locator("#status")).to_have_text("Not logged in")
    page.click("#login")
    sign_in_at_provider(page, demo)
    page.wait_for_url(f"{demo.app}/")
    page.wait_for_selector(LOGGED_IN)
    return page


def access_token_id(page: Page) -> str:
    """The jti of the access token the tab holds, as its inspector shows it."""
    payload = json.loads(page.locator("#access-token .jwt-payload").text_content() or "{}")
    return str(payload["jti"])


def notes(page: Page) -> list[str]:
    return page.locator("#notes .note-text").all_text_contents()


def add_note(page: Page, text: str) -> None:
    page.fill("#note-text", text)
    page.click("#note-form button[type=submit]")
    expect(page.locator("#notes .note-text", has_text=text)).to_be_visible()


def requests_to(page: Page, predicate: Callable[[Request], bool]) -> list[Request]:
    seen: list[Request] = []
    page.on("request", lambda request: seen.append(request) if predicate(request) else None)
    return seen


# --- the proofs --------------------------------------------------------------------------------------


def test_log_in_add_a_note_reload_and_stay_logged_in(context: BrowserContext, stack: Demo, screenshots: Path) -> None:
    """After a reload the tab is logged in again through one silent refresh, without the login page."""
    page = log_in(context, stack)
    expect(page.locator("#status")).to_have_text("Logged in as Demo Traveler")
    expect(page.locator("#identity-note")).to_contain_text("decoded for display, not verified")
    add_note(page, "pack the passport")
    add_note(page, "check the visa dates")
    page.screenshot(path=str(screenshots / "spa.png"), full_page=True)
    before = refresh_calls(stack)
    navigations = requests_to(page, lambda request: request.is_navigation_request())

    page.reload()
    page.wait_for_selector(LOGGED_IN)
    expect(page.locator("#status")).to_have_text("Logged in as Demo Traveler")
    expect(page.locator("#notes .note-text", has_text="pack the passport")).to_be_visible()
    assert [request.url for request in navigations] == [f"{stack.app}/"]  # no trip to the provider
    assert refresh_calls(stack) == before + 1
    expect(page.locator("#flow li[data-step=refresh]")).to_contain_text("Silent refresh through the cookie (restore)")
    page.screenshot(path=str(screenshots / "spa-after-reload.png"), full_page=True)


def test_the_refresh_cookie_has_the_specified_attributes(context: BrowserContext, stack: Demo) -> None:
    """__Host- name, HttpOnly, Secure, SameSite=Strict, Path=/, host-only, no longer-lived than the token."""
    log_in(context, stack)
    cookie = refresh_cookie(context)
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["domain"] == "localhost"  # host-only: a Domain attribute would show as ".localhost"
    # refresh_token_idle_ttl defaults to 14 days; the cookie may not outlive the token.
    assert time.time() < cookie["expires"] <= time.time() + 14 * 86400 + 5
    # The provider's own sign-in session: also __Host-, HttpOnly and host-only, Lax (it must survive
    # the top-level navigation back from other sites to /authorize).
    [session] = [cookie for cookie in context.cookies() if cookie["name"] == "__Host-passportoffice-session"]
    assert (session["httpOnly"], session["secure"], session["sameSite"], session["path"], session["domain"]) == (
        True, True, "Lax", "/", "localhost"
    )


def test_an_injected_script_finds_no_token_in_storage_or_cookies(context: BrowserContext, stack: Demo) -> None:
    """localStorage, sessionStorage, IndexedDB, CacheStorage and document.cookie hold none of the three tokens."""
    page = open_app(context, stack)
    page.click("#login")
    with page.expect_response(lambda response: response.url == f"{stack.provider}/token") as exchange:
        sign_in_at_provider(page, stack)
    body = exchange.value.json()
    assert "refresh_token" not in body
    page.wait_for_selector(LOGGED_IN)
    api_calls = requests_to(page, lambda request: "authorization" in request.headers)
    add_note(page, "nothing to steal")
    assert api_calls[0].headers["authorization"] == f"Bearer {body['access_token']}"
    access_token, id_token = body["access_token"], body["id_token"]
    refresh_token = refresh_cookie(context)["value"]

    # What an XSS payload would run: read every store a script on the page can reach.
    loot = page.evaluate(
        """async () => {
            const dump = { local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie,
                           indexedDB: {}, caches: [] };
            for (const { name } of await indexedDB.databases()) {
                const db = await new Promise((ok, fail) => {
                    const open = indexedDB.open(name); open.onsuccess = () => ok(open.result); open.onerror = fail;
                });
                for (const store of db.objectStoreNames) {
                    const all = db.transaction(store).objectStore(store).getAll();
                    dump.indexedDB[`${name}/${store}`] = await new Promise((ok) => {
                        all.onsuccess = () => ok(all.result);
                    });
                }
            }
            if (self.caches) dump.caches = await caches.keys();
            return JSON.stringify(dump);
        }"""
    )
    for secret in (access_token, id_token, refresh_token, access_token.split(".")[2], id_token.split(".")[2]):
        assert secret not in loot
    dump = json.loads(loot)
    assert dump["local"] == {} and dump["session"] == {} and dump["indexedDB"] == {} and dump["caches"] == []
    assert REFRESH_COOKIE not in dump["cookie"]
    expect(page.locator("[data-check='document.cookie']")).to_have_text(re.compile("^no refresh token"))
    expect(page.locator("[data-check=localStorage]")).to_have_text("nothing")
    expect(page.locator("[data-check=sessionStorage]")).to_have_text("nothing")
    expect(page.locator("[data-check=memory]")).to_contain_text("the access token")


def test_three_tabs_across_an_expiry_make_one_refresh_call(context: BrowserContext, stack: Demo) -> None:
    """Tabs opened later take the first tab's tokens; at expiry one tab refreshes and shares; none logs out."""
    first = log_in(context, stack)
    refreshed, rotated, logins = refresh_calls(stack), rotations(stack), token_calls(stack)
    second, third = open_app(context, stack), open_app(context, stack)
    tabs = [first, second, third]
    for tab in tabs:
        tab.wait_for_selector(LOGGED_IN)
    # The later tabs asked the first one (BroadcastChannel) instead of spending the cookie.
    assert refresh_calls(stack) == refreshed
    for tab in (second, third):
        expect(tab.locator("#flow li[data-step=shared]")).to_have_count(1)
    original = access_token_id(first)
    assert {access_token_id(tab) for tab in tabs} == {original}

    # The 60 s access token is refreshed 30 s (the leeway) before it expires, in one tab for all three.
    deadline = time.monotonic() + ACCESS_TOKEN_TTL + 15
    while time.monotonic() < deadline and any(access_token_id(tab) == original for tab in tabs):
        time.sleep(1)
    renewed = {access_token_id(tab) for tab in tabs}
    assert original not in renewed and len(renewed) == 1, renewed
    assert refresh_calls(stack) == refreshed + 1
    assert rotations(stack) == rotated + 1
    assert token_calls(stack) == logins  # nobody was sent to log in again
    for index, tab in enumerate(tabs):
        expect(tab.locator("#status")).to_have_text("Logged in as Demo Traveler")
        add_note(tab, f"after expiry, tab {index + 1}")  # the API accepts every tab's new token
    assert refresh_calls(stack) == refreshed + 1


ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>another origin</title>
<form id="csrf" method="post" action="{endpoint}"><input name="client_id" value="{client_id}"></form>"""


def test_another_origin_posting_to_the_refresh_endpoint_gets_403_and_rotates_nothing(
    context: BrowserContext, stack: Demo, tmp_path: Path
) -> None:
    """A page on another origin of the same site (another localhost port) cannot refresh with the cookie."""
    page = log_in(context, stack)
    page.close()  # no SPA tab left that could refresh on its own during the attack
    cookie, rotated, refused = refresh_cookie(context)["value"], rotations(stack), refresh_calls(stack, 403)
    endpoint = f"{stack.provider}/token/refresh"
    document = ATTACK_PAGE.format(endpoint=endpoint, client_id=APP_CLIENT_ID).encode()
    with static_site(tmp_path, documents={"/attack.html": ("text/html", document)}) as origin:
        attacker = context.new_page()
        attacker.goto(f"{origin}/attack.html")
        # With the SDK's header: the preflight names no such origin, so the browser never sends the POST.
        outcome = attacker.evaluate(
            """async ([endpoint, clientId]) => {
                try {
                    await fetch(endpoint, { method: "POST", credentials: "include",
                        headers: { "X-Requested-With": "passportoffice" },
                        body: new URLSearchParams({ client_id: clientId }) });
                    return "sent";
                } catch (error) { return error.name; }
            }""",
            [endpoint, APP_CLIENT_ID],
        )
        assert outcome == "TypeError"
        # Without it, as a simple request the browser does send: 403, and the page cannot even read that.
        with attacker.expect_response(endpoint) as simple:
            attacker.evaluate(
                """([endpoint, clientId]) => fetch(endpoint, { method: "POST", mode: "no-cors", credentials: "include",
                    body: new URLSearchParams({ client_id: clientId }) }).then(() => null)""",
                [endpoint, APP_CLIENT_ID],
            )
        assert simple.value.status == 403
        # A top-level form POST (what SameSite=Lax would have let through on other sites): 403 too.
        with attacker.expect_navigation() as navigation:
            attacker.evaluate("document.getElementById('csrf').submit()")
        response = navigation.value
        assert response is not None and response.status == 403
        assert response.json()["error"] == "access_denied"

    assert refresh_calls(stack, 403) == refused + 2
    assert rotations(stack) == rotated
    assert refresh_cookie(context)["value"] == cookie
    page = open_app(context, stack)  # and the SPA still gets in with the same cookie
    page.wait_for_selector(LOGGED_IN)


def test_logout_ends_the_session_in_every_tab_and_kills_the_cookie(context: BrowserContext, stack: Demo) -> None:
    """Logging out in one tab logs out the others at once; the old refresh cookie then gets invalid_grant."""
    first = log_in(context, stack)
    second = open_app(context, stack)
    second.wait_for_selector(LOGGED_IN)
    old_cookie = refresh_cookie(context)["value"]

    first.click("#logout")
    first.wait_for_url(f"{stack.app}/")
    first.wait_for_selector(LOGGED_OUT)
    second.wait_for_selector(LOGGED_OUT)  # without a reload: the BroadcastChannel message
    expect(second.locator("#flow li[data-step=logout]")).to_contain_text("another tab logged out")
    assert REFRESH_COOKIE not in {cookie["name"] for cookie in context.cookies()}
    second.reload()
    second.wait_for_selector("body[data-ready=true]")
    expect(second.locator("#status")).to_have_text("Not logged in")
    second.click("#login")  # the provider's session ended too: it asks for the password again
    second.wait_for_url(re.compile(re.escape(f"{stack.provider}/login?")))
    expect(second.locator("#username")).to_be_visible()

    # The cookie as an attacker who copied it would replay it: the family is revoked.
    replay = httpx.post(
        f"{stack.provider}/token/refresh",
        data={"client_id": APP_CLIENT_ID},
        headers={"Origin": stack.app, "X-Requested-With": "passportoffice", "Cookie": f"{REFRESH_COOKIE}={old_cookie}"},
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


CREATE_AUTH = """async () => {
    const { createAuth } = await import('/sdk/auth.js');
    const config = await (await fetch('/config.json')).json();
    const auth = createAuth({ issuer: config.issuer, clientId: config.clientId, redirectUri: config.redirectUri,
                              scope: config.scope, audience: config.audience });
    const urls = [await auth.authorizationUrl(), await auth.authorizationUrl()];
    auth.close();
    return urls;
}"""


def test_k14_two_logins_in_flight_both_complete_each_exactly_once(context: BrowserContext, stack: Demo) -> None:
    """Transactions are keyed by state: B then A both succeed; A's callback replayed is refused, unexchanged."""
    page = open_app(context, stack)
    first_url, second_url = page.evaluate(CREATE_AUTH)
    exchanges = requests_to(page, lambda request: request.url == f"{stack.provider}/token")

    page.goto(second_url)
    sign_in_at_provider(page, stack)
    page.wait_for_url(f"{stack.app}/")
    page.wait_for_selector(LOGGED_IN)
    assert len(exchanges) == 1

    with page.expect_request(re.compile(re.escape(f"{stack.app}/callback?"))) as first_callback:
        page.goto(first_url)  # the provider session exists: straight back with the first login's state
    page.wait_for_url(f"{stack.app}/")
    page.wait_for_selector(LOGGED_IN)
    assert len(exchanges) == 2

    page.goto(first_callback.value.url)  # the same callback again: its state is used up
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#error")).to_have_text("invalid_state: unknown, used or expired state: nothing exchanged")
    expect(page.locator("#status")).to_have_text("Not logged in")
    assert len(exchanges) == 2
    page.goto(f"{stack.app}/callback?code=forged&state=never-issued&iss={stack.provider}")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#error")).to_contain_text("invalid_state")
    assert len(exchanges) == 2


def test_k14_two_tabs_logging_in_at_once_both_succeed(context: BrowserContext, stack: Demo) -> None:
    """Tab A starts a login, tab B starts one, B finishes, then A finishes: both end logged in."""
    first, second = open_app(context, stack), open_app(context, stack)
    for tab in (first, second):
        tab.click("#login")
        tab.wait_for_url(re.compile(re.escape(f"{stack.provider}/login?")))
    for tab in (second, first):
        tab.fill("#username", DEMO_USERNAME)
        tab.fill("#password", DEMO_PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{stack.app}/")
        tab.wait_for_selector(LOGGED_IN)
    for tab in (first, second):
        expect(tab.locator("#status")).to_have_text("Logged in as Demo Traveler")
        expect(tab.locator("#error")).to_be_hidden()


def redirect_callback(page: Page, demo: Demo, rewrite: Callable[[str], str]) -> None:
    """Rewrite the provider's redirect to the callback (the answer to the login form), as a mix-up would."""

    def handle(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        location = response.headers["location"]
        assert location.startswith(f"{demo.app}/callback?")
        route.fulfill(response=response, headers={**response.headers, "location": rewrite(location)})

    page.route(f"{demo.provider}/login", handle)


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda url: re.sub(r"iss=[^&]*", "iss=https%3A%2F%2Fother-as.example", url),
        lambda url: re.sub(r"&?iss=[^&]*", "", url),
    ],
    ids=["wrong_iss", "missing_iss"],
)
def test_k15_a_wrong_or_missing_iss_aborts_before_the_code_exchange(
    context: BrowserContext, stack: Demo, rewrite: Callable[[str], str]
) -> None:
    """RFC 9207: the callback is refused before the code is sent anywhere, and no token is kept."""
    page = open_app(context, stack)
    exchanges = requests_to(page, lambda request: request.url.startswith(f"{stack.provider}/token"))
    redirect_callback(page, stack, rewrite)
    page.click("#login")
    sign_in_at_provider(page, stack)
    page.wait_for_url(f"{stack.app}/")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#error")).to_have_text(
        "invalid_issuer: the authorization response's iss is missing or wrong"
    )
    expect(page.locator("#status")).to_have_text("Not logged in")
    expect(page.locator("#tokens")).to_have_text("No tokens in this tab.")
    assert exchanges == []
    assert REFRESH_COOKIE not in {cookie["name"] for cookie in context.cookies()}


def tamper_id_token(header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None,
                    signature: str | None = None) -> Callable[[str], str]:
    def encode(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    def decode(part: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return decoded

    def rewrite(token: str) -> str:
        head, payload, sig = token.split(".")
        new_head = encode({**decode(head), **header}) if header else head
        new_payload = encode({**decode(payload), **claims}) if claims else payload
        return f"{new_head}.{new_payload}.{sig if signature is None else signature}"

    return rewrite


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (tamper_id_token(header={"alg": "none"}, signature=""), "alg"),
        (tamper_id_token(claims={"nonce": "not-the-nonce-we-sent"}), "nonce"),
        (tamper_id_token(claims={"aud": ["demo-spa", "https://other.example"]}), "azp"),
        (tamper_id_token(claims={"iss": "https://other-as.example"}), "iss"),
    ],
    ids=["k17_alg_none", "wrong_nonce", "k23_aud_without_azp", "k19_wrong_iss"],
)
def test_k17_an_id_token_that_fails_a_check_keeps_no_token(
    context: BrowserContext, stack: Demo, tamper: Callable[[str], str], reason: str
) -> None:
    """The token response's ID token is altered on the wire: the SDK keeps nothing and calls no API."""
    page = open_app(context, stack)

    def alter(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        route.fulfill(response=response, json={**body, "id_token": tamper(body["id_token"])})

    page.route(f"{stack.provider}/token", alter)
    api_calls = requests_to(page, lambda request: "authorization" in request.headers)
    page.click("#login")
    sign_in_at_provider(page, stack)
    page.wait_for_url(f"{stack.app}/")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#error")).to_have_text(f"ID token rejected: {reason}")
    expect(page.locator("#status")).to_have_text("Not logged in")
    expect(page.locator("#tokens")).to_have_text("No tokens in this tab.")
    assert api_calls == []


def test_a_wrong_password_shows_the_generic_error_and_the_app_has_no_csp_violation(
    context: BrowserContext, stack: Demo, screenshots: Path
) -> None:
    """The provider's login page answers a wrong password generically; the SPA loads under its strict CSP."""
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    page.goto(f"{stack.app}/")
    page.wait_for_selector("body[data-ready=true]")
    csp = page.evaluate("async () => (await fetch('/')).headers.get('content-security-policy')")
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    page.click("#login")
    page.wait_for_url(re.compile(re.escape(f"{stack.provider}/login?")))
    page.screenshot(path=str(screenshots / "login.png"))
    sign_in_at_provider(page, stack, password="not-the-password")
    expect(page.locator("#login-error")).to_have_text("Invalid username or password.")
    assert REFRESH_COOKIE not in {cookie["name"] for cookie in context.cookies()}
    assert violations == []


@pytest.mark.parametrize(("refusals", "shown"), [(1, "ok"), (99, "the API answered 401")], ids=["once", "always"])
def test_a_401_invalid_token_refreshes_once_and_retries_once(
    context: BrowserContext, stack: Demo, refusals: int, shown: str
) -> None:
    """The API refuses the token (its real answer to a bad signature): one refresh, one retry, no loop."""
    page = log_in(context, stack)
    expect(page.locator("#notes li, #notes-empty:not([hidden])").first).to_be_visible()  # the notes loaded
    refreshed = refresh_calls(stack)
    sent: list[str] = []

    def spoil(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        bearer = route.request.headers["authorization"]
        sent.append(bearer)
        if len(sent) > refusals:
            route.continue_()
            return
        spoiled = bearer[:-6] + ("AAAAAA" if not bearer.endswith("AAAAAA") else "BBBBBB")
        route.fulfill(response=route.fetch(headers={**route.request.headers, "authorization": spoiled}))

    page.route(f"{stack.api}/notes", spoil)
    notes_url = f"{stack.api}/notes"
    with page.expect_response(lambda response: response.url == notes_url and response.status == 401) as refused:
        page.fill("#note-text", "the token was refused")
        page.click("#note-form button[type=submit]")
    assert 'error="invalid_token"' in (refused.value.headers.get("www-authenticate") or "")
    if shown == "ok":
        expect(page.locator("#notes .note-text", has_text="the token was refused")).to_be_visible()
        expect(page.locator("#error")).to_be_hidden()
    else:
        expect(page.locator("#error")).to_have_text(shown)
    assert len(sent) == 2 and sent[0] != sent[1]  # the retry carried the refreshed token, and came once
    assert refresh_calls(stack) == refreshed + 1
