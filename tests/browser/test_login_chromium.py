"""A person signs in with a real Chromium: the demo app, the provider's login page, the tokens page, sign-out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from passportoffice.cli.demo import DEMO_PASSWORD, DEMO_USERNAME
from tests.demo import Demo

pytestmark = pytest.mark.browser

SESSION_COOKIE = "__Host-passportoffice-session"


def open_login_form(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.app}/")
    page.click("#sign-in")
    page.wait_for_url(re.compile(re.escape(f"{demo.provider}/login?")))


def submit(page: Page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def csp_violations(page: Page) -> list[str]:
    """What the page's Content-Security-Policy refused, as Chromium reports it on the console."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    return violations


def test_a_person_signs_in_and_out(context: BrowserContext, demo: Demo, screenshots: Path) -> None:
    """Sign-in lands on the tokens page with a __Host- session cookie scripts cannot read; sign-out ends it."""
    page = context.new_page()
    violations = csp_violations(page)
    open_login_form(page, demo)
    page.screenshot(path=str(screenshots / "login.png"))
    submit(page, DEMO_USERNAME, DEMO_PASSWORD)
    page.wait_for_url(re.compile(re.escape(f"{demo.app}/callback?")))
    expect(page.locator("#signed-in")).to_have_text("Signed in as demo")
    expect(page.locator("#id-token")).to_contain_text('"preferred_username": "demo"')
    expect(page.locator("#userinfo")).to_contain_text("HTTP 200")
    # The nonce-allowed inline style applied (the CSP did not refuse it).
    assert page.eval_on_selector("#sign-out", "e => getComputedStyle(e).backgroundColor") == "rgb(75, 85, 99)"
    page.screenshot(path=str(screenshots / "tokens.png"), full_page=True)

    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    session = cookies[SESSION_COOKIE]
    assert session["httpOnly"] is True
    assert session["secure"] is True
    assert session["sameSite"] == "Lax"
    assert session["path"] == "/"
    assert session["domain"] == "localhost"  # host-only: a Domain attribute would show as ".localhost"
    provider_page = context.new_page()
    provider_page.goto(f"{demo.provider}/healthz")
    assert SESSION_COOKIE not in provider_page.evaluate("document.cookie")
    provider_page.close()

    # demo-app registered its home page as post_logout_redirect_uri, so the provider sends the person back.
    page.click("#sign-out")
    page.wait_for_url(f"{demo.app}/")
    expect(page.locator("#sign-in")).to_be_visible()
    assert SESSION_COOKIE not in {cookie["name"] for cookie in context.cookies()}
    open_login_form(page, demo)  # the session ended: the provider asks for the password again
    expect(page.locator("#username")).to_be_visible()
    assert violations == []


def test_a_wrong_password_shows_the_generic_error(context: BrowserContext, demo: Demo) -> None:
    """A wrong password shows "Invalid username or password." and no session cookie."""
    page = context.new_page()
    open_login_form(page, demo)
    submit(page, DEMO_USERNAME, "not-the-password")
    expect(page.locator("#login-error")).to_have_text("Invalid username or password.")
    assert SESSION_COOKIE not in {cookie["name"] for cookie in context.cookies()}
