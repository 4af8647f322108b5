"""The BFF end to end over HTTP: log in, call the API, log out (a real provider and a real API)."""

from __future__ import annotations

import re

from tests.bff.conftest import password, sub
from tests.bff.stack import Browser, Provider, RunningBff

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def test_login_call_the_api_and_log_out(provider: Provider, bff: RunningBff, browser: Browser) -> None:
    """The browser ends up with only the session cookie; the API gets a valid bearer token from the BFF;
    logout revokes the refresh token at the provider and ends the session."""
    with bff.api.lock:
        bff.api.notes.clear()  # the API outlives each test
    assert browser.request("GET", "/bff/user").json() == {"authenticated": False}
    landed = browser.login("alice", password(provider, "alice"))
    assert landed.headers["location"] == "/"

    user = browser.request("GET", "/bff/user")
    assert user.status_code == 200
    body = user.json()
    assert body["authenticated"] is True
    assert {k: body["user"][k] for k in ("sub", "preferred_username", "email")} == {
        "sub": sub(provider, "alice"), "preferred_username": "alice", "email": "alice@example.com"
    }
    assert not JWT.search(user.text)

    before = bff.api.count()
    created = browser.request("POST", "/api/notes", json={"text": "first note"})
    assert created.status_code == 200, created.text
    assert created.json() == {"sub": sub(provider, "alice"), "notes": ["first note"]}
    listed = browser.request("GET", "/api/notes")
    assert listed.json()["notes"] == ["first note"]
    assert bff.api.count() == before + 2
    seen = bff.api.seen[-1]
    assert seen.subject == sub(provider, "alice")  # the guard accepted the token the BFF attached
    assert seen.path == "/notes"
    for name in ("cookie", "x-requested-with", "origin"):
        assert name not in seen.headers

    cookie = browser.cookie(bff.settings.cookie_name)
    assert cookie is not None
    grant_id = provider.query(
        "SELECT id FROM grants WHERE user_id = ? AND client_id = 'bff' ORDER BY created_at DESC LIMIT 1",
        sub(provider, "alice"),
    )[0][0]
    logout = browser.request("POST", "/bff/logout")
    assert logout.status_code == 200
    logout_url = logout.json()["logout_url"]
    assert logout_url.startswith(provider.issuer + "/end_session?client_id=bff&post_logout_redirect_uri=")
    assert "id_token_hint" not in logout_url and not JWT.search(logout_url)
    assert browser.cookie(bff.settings.cookie_name) is None
    # RFC 7009: the refresh token was revoked, so its grant is dead at the provider.
    assert provider.query("SELECT revoked_at FROM grants WHERE id = ?", grant_id)[0][0] is not None
    browser.set_cookie(bff.settings.cookie_name, cookie)  # the old cookie, replayed
    assert browser.request("GET", "/bff/user").json() == {"authenticated": False}
    denied = browser.request("GET", "/api/notes")
    assert (denied.status_code, denied.json()["error"]) == (401, "login_required")
