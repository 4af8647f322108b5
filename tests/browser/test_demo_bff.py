"""The demo in BFF mode (issue 5), in real Chromium: the same SPA served through the BFF by `passportoffice
demo`, same notes, same inspector, which now shows that the browser holds only the session cookie."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from passportoffice.cli.demo import DEMO_PASSWORD, DEMO_USERNAME
from tests.demo import Demo, running_demo

pytestmark = pytest.mark.browser

SESSION_COOKIE = "__Host-passportoffice-bff"
LOGGED_IN = "body[data-state=logged-in]"
LOGGED_OUT = "body[data-state=logged-out]"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo-bff")
    with running_demo(root / "data", root / "logs") as demo:
        yield demo


def watch(page: Page) -> list[str]:
    """Every response body the page receives (what any script on it could have read), and every URL."""
    seen: list[str] = []

    def keep(response: Response) -> None:
        seen.append(response.url)
        if not 300 <= response.status < 400:
            with contextlib.suppress(Exception):  # a body dropped after a navigation is gone for scripts too
                seen.append(response.body().decode("utf-8", "replace"))

    page.on("response", keep)
    return seen


def log_in(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.bff}/")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#status")).to_have_text("Not logged in")
    page.click("#login")
    page.wait_for_url(re.compile(re.escape(f"{demo.provider}/login?")))
    page.fill("#username", DEMO_USERNAME)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo.bff}/")
    page.wait_for_selector(LOGGED_IN)


def test_the_demo_through_the_bff_keeps_every_token_out_of_the_browser(
    context: BrowserContext, stack: Demo, screenshots: Path
) -> None:
    page = context.new_page()
    seen = watch(page)
    log_in(page, stack)
    expect(page.locator("#status")).to_have_text("Logged in as Demo Traveler")
    page.fill("#note-text", "through the BFF")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#notes .note-text", has_text="through the BFF")).to_be_visible()

    page.reload()
    page.wait_for_selector(LOGGED_IN)
    expect(page.locator("#notes .note-text", has_text="through the BFF")).to_be_visible()
    expect(page.locator("#bff-cookie")).to_contain_text("holds only the session cookie __Host-passportoffice-bff")
    expect(page.locator("#access-token")).to_have_count(0)
    expect(page.locator("#xss dd[data-check=memory]")).to_have_class("safe")
    expect(page.locator("#flow li[data-step=api]").first).to_contain_text("through the BFF: HTTP 200")
    page.screenshot(path=str(screenshots / "spa-bff.png"), full_page=True)

    [cookie] = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (True, True, "Strict", "/")
    assert SESSION_COOKIE not in page.evaluate("document.cookie")
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
    held = "\n".join([*seen, json.dumps(context.cookies()), page.content()])
    assert any('"authenticated":true' in text for text in seen)
    assert JWT.search(held) is None

    page.click("#logout")
    page.wait_for_url(f"{stack.bff}/")
    page.wait_for_selector(LOGGED_OUT)
    assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
    page.click("#login")  # the provider session ended too: it asks for the password again
    page.wait_for_url(re.compile(re.escape(f"{stack.provider}/login?")))


def test_the_bff_page_has_a_strict_content_security_policy(context: BrowserContext, stack: Demo) -> None:
    """In BFF mode the page may fetch from its own origin only (the BFF): no provider, no API."""
    page = context.new_page()
    response = page.goto(f"{stack.bff}/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "connect-src 'self';" in policy
    assert stack.provider not in policy and stack.api not in policy
