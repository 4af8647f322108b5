"""Every HTML page the provider sends, success or error, carries the same security headers: a CSP with
`frame-ancestors 'none'` (no clickjacking of the login or consent form), `Referrer-Policy: no-referrer`
(no code or request id leaks to the next site) and `X-Content-Type-Options: nosniff`."""

from __future__ import annotations

import httpx
import pytest

from passportoffice.web.app import create_app
from tests.support.flows import PASSWORD, authorization_params, form_fields

pytestmark = pytest.mark.anyio


def assert_html_security_headers(name: str, response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), name
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp, name
    assert "default-src 'none'" in csp, name
    assert response.headers["referrer-policy"] == "no-referrer", name
    assert response.headers["x-content-type-options"] == "nosniff", name
    assert response.headers["cache-control"] == "no-store", name


async def test_every_html_page_sends_the_security_headers(flows, provider, monkeypatch):
    """Login (shown, failed, too large), consent, form_post, logged-out and error pages (400, 413, 500)."""
    await flows.add_user()
    await flows.add_client()
    await flows.add_client("partner", first_party=False)
    http = flows.http
    pages: dict[str, httpx.Response] = {}

    to_login = await http.get("/authorize", params=authorization_params("partner"))
    pages["login"] = await http.get(to_login.headers["location"])
    fields = form_fields(pages["login"].text)
    pages["login failed"] = await http.post("/login", data={**fields, "username": "alice", "password": "wrong"})
    pages["login body too large"] = await http.post(
        "/login", data={**fields, "username": "alice", "password": "x" * provider.settings.max_body_bytes}
    )
    pages["login without CSRF token"] = await http.post("/login", data={"request_id": fields["request_id"]})
    signed_in = await http.post("/login", data={**fields, "username": "alice", "password": PASSWORD})
    pages["consent"] = await http.get(signed_in.headers["location"])
    pages["form_post"] = await http.get("/authorize", params=authorization_params(response_mode="form_post"))
    pages["unknown client"] = await http.get("/authorize", params=authorization_params("nobody"))
    pages["repeated parameter"] = await http.get("/authorize?client_id=spa&client_id=spa")
    pages["logged out"] = await http.get("/end_session")

    async def broken(client_id: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(provider.storage, "get_client", broken)
    # Starlette re-raises a handled 500 to the server (which logs it); the client still gets the page.
    transport = httpx.ASGITransport(app=create_app(provider, run_cleanup=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=str(http.base_url)) as server_side:
        pages["unexpected error"] = await server_side.get("/authorize", params=authorization_params())

    statuses = {name: response.status_code for name, response in pages.items()}
    assert statuses == {
        "login": 200,
        "login failed": 401,
        "login body too large": 413,
        "login without CSRF token": 400,
        "consent": 200,
        "form_post": 200,
        "unknown client": 400,
        "repeated parameter": 400,
        "logged out": 200,
        "unexpected error": 500,
    }
    for name, response in pages.items():
        assert_html_security_headers(name, response)
    assert "a bug" not in pages["unexpected error"].text
