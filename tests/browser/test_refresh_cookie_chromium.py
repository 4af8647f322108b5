"""Refresh-cookie mode in a real Chromium: a real provider process and a minimal SPA page on another port.

The page does only what the contract asks of any SPA (PKCE, the code exchange and refreshes with
`credentials: "include"` and `X-Requested-With`), so this checks the provider's side of the browser
rules independently of the SDK: the __Host- cookie stored and sent across localhost ports (same site),
unreadable by scripts, rotated by a refresh, refused (K37) to a same-site page on an unregistered
origin, and revoked and cleared by logout.
"""

from __future__ import annotations

import http.server
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.demo import command, demo_env, free_port

pytestmark = pytest.mark.browser

CLIENT_ID = "cookie-spa"
COOKIE = "__Host-passportoffice-refresh-" + CLIENT_ID
PASSWORD = "correct horse battery staple"

SPA_PAGE = """<!doctype html>
<html><head><title>spa</title></head><body>
<form id="login"><button id="sign-in" type="button">sign in</button></form>
<script type="module">
const issuer = "__ISSUER__";
const clientId = "__CLIENT_ID__";
const redirectUri = location.origin + "/callback";
const b64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const form = (values) => new URLSearchParams(values);
const call = async (path, body, headers) => {
  const response = await fetch(issuer + path, { method: "POST", credentials: "include", headers, body: form(body) });
  return { status: response.status, body: await response.json() };
};
window.refresh = (headers = { "X-Requested-With": "passportoffice" }) =>
  call("/token/refresh", { client_id: clientId }, headers);
document.getElementById("sign-in").onclick = async () => {
  const verifier = random(32), state = random(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  // A test page only: the real SDK keeps the verifier per transaction; this one is thrown away at once.
  sessionStorage.setItem("verifier:" + state, verifier);
  location.href = issuer + "/authorize?" + form({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid profile",
    state, nonce: random(16), code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: "S256",
  });
};
if (location.pathname === "/callback") {
  const query = new URLSearchParams(location.search);
  const key = "verifier:" + query.get("state");
  const verifier = sessionStorage.getItem(key);
  sessionStorage.removeItem(key);
  window.exchange = await call("/token", {
    grant_type: "authorization_code", code: query.get("code"), redirect_uri: redirectUri,
    code_verifier: verifier, client_id: clientId,
  }, { "X-Requested-With": "passportoffice" });
}
</script></body></html>
"""

ATTACKER_PAGE = """<!doctype html>
<html><body>
<form id="csrf" method="post" action="__ISSUER__/token/refresh">
<input type="hidden" name="client_id" value="__CLIENT_ID__"></form>
<script>
window.fetchWithHeader = () => fetch("__ISSUER__/token/refresh", {
  method: "POST", credentials: "include", headers: { "X-Requested-With": "passportoffice" },
  body: new URLSearchParams({ client_id: "__CLIENT_ID__" }),
}).then((r) => "status " + r.status, (e) => "blocked: " + e.name);
</script></body></html>
"""


@dataclass
class Sites:
    provider: str
    spa: str
    attacker: str
    database: Path


def _page_server(page: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    body = page.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_address[1]}"


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    result = subprocess.run([*command(), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    data_dir = tmp_path_factory.mktemp("cookie-mode")
    port = free_port()
    issuer = f"http://localhost:{port}"
    spa_server, spa = _page_server(SPA_PAGE.replace("__ISSUER__", issuer).replace("__CLIENT_ID__", CLIENT_ID))
    attacker_server, attacker = _page_server(
        ATTACKER_PAGE.replace("__ISSUER__", issuer).replace("__CLIENT_ID__", CLIENT_ID)
    )
    env = demo_env() | {"PASSPORTOFFICE_DATA_DIR": str(data_dir)}
    _run(env, "users", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    _run(
        env, "clients", "add", CLIENT_ID, "--public", "--refresh-cookie", "--first-party",
        "--origin", spa, "--redirect-uri", spa + "/callback",
    )  # fmt: skip
    process = subprocess.Popen(
        [*command(), "serve", "--port", str(port), "--issuer", issuer],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, process.communicate()
        yield Sites(issuer, spa, attacker, data_dir / "passportoffice.db")
    finally:
        process.terminate()
        process.communicate(timeout=20)
        spa_server.shutdown()
        attacker_server.shutdown()


def _rotations(sites: Sites) -> int:
    with sqlite3.connect(sites.database) as db:
        count: int = db.execute("SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL").fetchone()[0]
        return count


def _cookie(context: BrowserContext) -> dict[str, object]:
    [cookie] = [cookie for cookie in context.cookies() if cookie["name"] == COOKIE]
    return dict(cookie)


def _sign_in(page: Page, sites: Sites) -> dict[str, object]:
    page.goto(sites.spa + "/")
    page.click("#sign-in")
    page.wait_for_url(re.compile(re.escape(f"{sites.provider}/login?")))
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{sites.spa}/callback?")))
    page.wait_for_function("window.exchange !== undefined")
    exchange: dict[str, object] = page.evaluate("window.exchange")
    return exchange


def test_the_refresh_cookie_flow_in_chromium(context: BrowserContext, sites: Sites) -> None:
    """Sign in, refresh through the cookie, refuse a same-site CSRF, log out: as a real browser does it."""
    page = context.new_page()
    exchange = _sign_in(page, sites)
    assert exchange["status"] == 200, exchange
    body = exchange["body"]
    assert isinstance(body, dict) and "refresh_token" not in body and body["token_type"] == "Bearer"

    # The cookie as Chromium stored it: host-only __Host- cookie with the specified attributes.
    cookie = _cookie(context)
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (True, True, "Strict", "/")
    assert cookie["domain"] == "localhost"  # host-only: a Domain attribute would show as ".localhost"
    assert isinstance(cookie["expires"], float) and cookie["expires"] > time.time()
    # Scripts on neither origin can read it.
    assert COOKIE not in page.evaluate("document.cookie")
    provider_page = context.new_page()
    provider_page.goto(sites.provider + "/healthz")
    assert COOKIE not in provider_page.evaluate("document.cookie")
    provider_page.close()

    # A silent refresh from the SPA's origin (another port of localhost: same site) rotates the cookie.
    rotations = _rotations(sites)
    refreshed = page.evaluate("window.refresh()")
    assert refreshed["status"] == 200, refreshed
    assert refreshed["body"]["access_token"] != body["access_token"]
    assert _cookie(context)["value"] != cookie["value"]
    assert _rotations(sites) == rotations + 1
    current = _cookie(context)["value"]

    # K37: a page on another origin of the same site (so the Strict cookie IS sent with its form POST).
    attacker = context.new_page()
    attacker.goto(sites.attacker + "/")
    # Its fetch with the custom header fails the preflight: the browser never sends the POST.
    assert attacker.evaluate("window.fetchWithHeader()") == "blocked: TypeError"
    # A plain form POST cannot add the header: 403 access_denied, nothing rotated.
    with attacker.expect_navigation() as navigation:
        attacker.evaluate("document.forms.csrf.submit()")
    response = navigation.value
    assert response is not None and response.status == 403
    assert response.json()["error"] == "access_denied"
    assert _rotations(sites) == rotations + 1
    assert _cookie(context)["value"] == current

    # The SPA's own refresh still works with the untouched cookie.
    assert page.evaluate("window.refresh()")["status"] == 200
    assert _rotations(sites) == rotations + 2

    # Logout (a top-level navigation from the app's site) revokes the family and clears the cookie.
    last = _cookie(context)["value"]
    page.goto(sites.provider + "/end_session")
    assert COOKIE not in {c["name"] for c in context.cookies()}
    with sqlite3.connect(sites.database) as db:
        (revoked,) = db.execute(
            "SELECT g.revoked_at FROM grants g JOIN refresh_tokens r ON r.grant_id = g.id "
            "WHERE r.rotated_at IS NULL ORDER BY r.created_at DESC LIMIT 1"
        ).fetchone()
    assert revoked is not None
    page.goto(sites.spa + "/")
    after = page.evaluate("window.refresh()")
    assert (after["status"], after["body"]["error"]) == (400, "invalid_grant")
    # The old cookie, replayed by hand from the right origin with the header, is dead too.
    replayed = httpx.post(
        sites.provider + "/token/refresh",
        data={"client_id": CLIENT_ID},
        headers={"Origin": sites.spa, "X-Requested-With": "passportoffice", "Cookie": f"{COOKIE}={last}"},
    )
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
