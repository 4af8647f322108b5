"""The BFF with a real Chromium: a person logs in through it, uses notes, reloads, logs out, and the
browser never holds a token; other origins cannot use the session; two people never mix; a logout at
the provider reaches the BFF over the back channel; token expiry is handled server-side."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.bff.conftest import password, sub
from tests.bff.stack import Provider, RunningBff, serve_in_thread
from tests.browser.conftest import chromium  # noqa: F401 (a fixture)
from tests.interop.conftest import _free_port

pytestmark = pytest.mark.browser

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
API_STATUS = "fetch('/api/notes', {headers: {'X-Requested-With': 'passportoffice'}}).then(r => r.status)"


@pytest.fixture
def context(chromium: Chromium) -> Iterator[BrowserContext]:  # noqa: F811
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    yield context
    context.close()


class Watched:
    """A page with every response body it received kept (what a script on it could have read)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.bodies: list[str] = []
        self.urls: list[str] = []
        page.on("response", self._keep)

    def _keep(self, response: Response) -> None:
        self.urls.append(response.url)
        if 300 <= response.status < 400:
            return  # redirects have no body
        # A body the browser already dropped (after a navigation) cannot be read by a script either.
        with contextlib.suppress(Exception):
            self.bodies.append(response.body().decode("utf-8", "replace"))


def log_in(page: Page, bff: RunningBff, provider: Provider, username: str) -> None:
    page.goto(bff.url + "/")
    expect(page.locator("#status")).to_have_text("Signed out")
    page.click("#sign-in")
    page.wait_for_url(re.compile(re.escape(provider.issuer + "/login?")))
    page.fill("#username", username)
    page.fill("#password", password(provider, username))
    page.click("button[type=submit]")
    page.wait_for_url(bff.url + "/")
    expect(page.locator("#status")).to_have_text("Signed in as " + username)
    page.wait_for_load_state("networkidle")  # the notes the page loads after the status


def add_note(page: Page, text: str) -> None:
    page.fill("#note-text", text)
    page.click("#add-note")
    expect(page.locator("#notes li").last).to_have_text(text)


def everything_the_browser_holds(context: BrowserContext, page: Page, watched: Watched) -> str:
    storage = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    cookies = json.dumps(context.cookies())
    script_cookies = page.evaluate("document.cookie")
    return "\n".join([storage, cookies, script_cookies, *watched.bodies, *watched.urls, page.content()])


def test_log_in_use_notes_reload_log_out_and_no_token_ever_reaches_the_browser(
    context: BrowserContext, provider: Provider, bff: RunningBff
) -> None:
    page = context.new_page()
    watched = Watched(page)
    log_in(page, bff, provider, "alice")
    add_note(page, "remember the milk")
    page.reload()
    expect(page.locator("#status")).to_have_text("Signed in as alice")
    expect(page.locator("#notes li")).to_have_text(["remember the milk"])

    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    session = cookies[bff.settings.cookie_name]
    assert (session["httpOnly"], session["secure"], session["sameSite"], session["path"]) == (True, True, "Strict", "/")
    assert bff.settings.cookie_name not in page.evaluate("document.cookie")
    data = bff.session_data(session["value"])
    tokens = {data["access_token"], data["refresh_token"]} | {seen.token for seen in bff.api.seen if seen.token}
    held = everything_the_browser_holds(context, page, watched)
    assert any('"authenticated":true' in body for body in watched.bodies)  # the bodies were seen
    assert [token for token in tokens if token in held] == []
    assert JWT.search(held) is None
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]

    page.click("#sign-out")
    page.wait_for_url(bff.url + "/")
    expect(page.locator("#status")).to_have_text("Signed out")
    assert bff.settings.cookie_name not in {cookie["name"] for cookie in context.cookies()}
    assert page.evaluate(API_STATUS) == 401
    # The provider session ended too: signing in again asks for the password.
    page.click("#sign-in")
    page.wait_for_url(re.compile(re.escape(provider.issuer + "/login?")))


def test_a_cross_origin_page_cannot_use_the_session(
    context: BrowserContext, provider: Provider, bff: RunningBff
) -> None:
    """K37 in a browser: a page on another origin tries a credentialed fetch with the custom header (the
    preflight is refused, so it never goes out), a no-cors fetch and a form POST: the BFF answers 403 to
    whatever reaches it, and the API sees nothing."""
    page = context.new_page()
    log_in(page, bff, provider, "alice")
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    target = bff.url + "/api/notes"
    attacker_page = f"""<!doctype html><form id="f" method="post" action="{target}">
      <input name="text" value="forged"></form>"""

    async def attack(_: Any) -> HTMLResponse:
        return HTMLResponse(attacker_page)

    port = _free_port()
    with serve_in_thread(Starlette(routes=[Route("/", attack)]), port):
        evil = context.new_page()
        statuses: list[int] = []
        evil.on("response", lambda response: statuses.append(response.status) if response.url == target else None)
        evil.goto(f"http://127.0.0.1:{port}/")
        before = bff.api.count()
        outcome = evil.evaluate(
            """async (target) => {
                 const results = [];
                 try {
                   const r = await fetch(target, {credentials: 'include',
                                                  headers: {'X-Requested-With': 'passportoffice'}});
                   results.push('read ' + r.status);
                 } catch (e) { results.push('blocked'); }
                 const opaque = await fetch(target, {mode: 'no-cors', credentials: 'include', method: 'POST',
                                                     body: 'text=forged'});
                 results.push(opaque.type);
                 return results;
               }""",
            target,
        )
        assert outcome == ["blocked", "opaque"]
        with evil.expect_navigation():
            evil.evaluate("document.getElementById('f').submit()")
        assert "forged" not in evil.content() or "forbidden" in evil.content()
        assert bff.api.count() == before
        assert statuses and set(statuses) == {403}
    expect(page.locator("#status")).to_have_text("Signed in as alice")


def test_two_people_in_two_browsers_never_see_each_others_session_or_notes(
    chromium: Chromium, provider: Provider, bff: RunningBff  # noqa: F811
) -> None:
    with bff.api.lock:
        bff.api.notes.clear()  # the API outlives each test
    contexts = [chromium.new_context(), chromium.new_context()]
    try:
        alice, bob = (context.new_page() for context in contexts)
        log_in(alice, bff, provider, "alice")
        log_in(bob, bff, provider, "bob")
        add_note(alice, "alice's secret")
        add_note(bob, "bob's plan")
        alice.reload()
        bob.reload()
        expect(alice.locator("#status")).to_have_text("Signed in as alice")
        expect(bob.locator("#status")).to_have_text("Signed in as bob")
        expect(alice.locator("#notes li")).to_have_text(["alice's secret"])
        expect(bob.locator("#notes li")).to_have_text(["bob's plan"])
        cookie = [{c["name"]: c["value"] for c in context.cookies()}[bff.settings.cookie_name] for context in contexts]
        assert cookie[0] != cookie[1]
        subjects = {seen.subject for seen in bff.api.seen}
        assert subjects == {sub(provider, "alice"), sub(provider, "bob")}
    finally:
        for context in contexts:
            context.close()


def test_logging_out_at_the_provider_ends_the_bff_session_through_the_back_channel(
    context: BrowserContext, provider: Provider, bff: RunningBff
) -> None:
    """The person signs out at the provider itself (not through the BFF); the provider's back-channel
    logout reaches the BFF, and the app's next API call gets 401."""
    page = context.new_page()
    log_in(page, bff, provider, "alice")
    provider_tab = context.new_page()
    provider_tab.goto(provider.issuer + "/end_session")
    expect(provider_tab.locator("#logged-out")).to_be_visible()
    status = 200
    deadline = time.monotonic() + 10
    while status != 401 and time.monotonic() < deadline:
        status = page.evaluate(API_STATUS)
        time.sleep(0.1)
    assert status == 401
    page.reload()
    expect(page.locator("#status")).to_have_text("Signed out")


def test_an_expiring_access_token_is_refreshed_server_side_once_for_parallel_calls(
    context: BrowserContext, provider: Provider, bff: RunningBff
) -> None:
    page = context.new_page()
    watched = Watched(page)
    log_in(page, bff, provider, "alice")
    rotations = provider.refresh_rotations(sub(provider, "alice"))
    before = bff.api.count()
    bff.clock.offset = 600  # the access token is due now, from the BFF's point of view
    assert page.evaluate("window.parallelCalls(6)") == [200] * 6
    assert provider.refresh_rotations(sub(provider, "alice")) == rotations + 1
    assert len({seen.token for seen in bff.api.seen[before:]}) == 1
    expect(page.locator("#status")).to_have_text("Signed in as alice")
    assert JWT.search("\n".join(watched.bodies)) is None
