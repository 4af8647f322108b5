"""A real `passportoffice serve` process on a loopback port, seeded through the CLI, for third-party clients.

Nothing here speaks OAuth on the clients' behalf: the only thing done for them is what a person does in a
browser (load the authorization URL, sign in), because neither openid-client nor authlib has a browser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from passportoffice.cli.main import app

USERNAME = "alice"
PASSWORD = "interop: correct horse battery staple"
EMAIL = "alice@example.com"
NAME = "Alice Liddell"
API_AUDIENCE = "https://api.interop.example"
SERVICE_SCOPE = "notes:read"
USER_SCOPES = ("openid", "profile", "email", "offline_access")
SCOPE = " ".join(USER_SCOPES)  # what the relying parties ask for
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class InteropClient:
    client_id: str
    auth_method: str  # token_endpoint_auth_method as registered
    secret: str | None
    audience: str | None = None  # the client's default API audience, if it has one


@dataclass(frozen=True)
class InteropServer:
    issuer: str
    redirect_uri: str
    sub: str  # the seeded user's subject identifier, as the CLI reports it
    public: InteropClient
    basic: InteropClient
    post: InteropClient
    log_path: Path
    # A browser library's page (oidc-client-ts) is served from this origin; its client registers it.
    browser_origin: str
    browser: InteropClient

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command() -> list[str]:
    script = Path(sys.executable).with_name("passportoffice")
    if script.exists():  # the installed console script, as operators run it
        return [str(script)]
    return [sys.executable, "-c", "from passportoffice.cli.main import app; app()"]


def _cli(env: dict[str, str | None], *args: str, stdin: str | None = None) -> str:
    """Run a `passportoffice` command in this process: the same parsing and code as the console script,
    without the ~3 s each new interpreter spends importing here (the fixture took 24 s instead of 6 s)."""
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    assert result.exit_code == 0, f"passportoffice {' '.join(args)} failed:\n{result.output}"
    return result.stdout


def _add_client(env: dict[str, str | None], client_id: str, redirect_uri: str, *extra: str) -> InteropClient:
    scopes = [arg for scope in USER_SCOPES for arg in ("--scope", scope)]
    printed = json.loads(
        _cli(
            env,
            "clients", "add", client_id,
            "--redirect-uri", redirect_uri,
            "--grant", "authorization_code", "--grant", "refresh_token",
            *scopes,
            "--first-party",
            *extra,
            "--json",
        )
    )
    audience = printed["audience"][0] if printed["audience"] else None
    return InteropClient(client_id, printed["token_endpoint_auth_method"], printed.get("client_secret"), audience)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"passportoffice serve exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"passportoffice serve did not answer /healthz within {STARTUP_SECONDS}s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def interop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteropServer]:
    """`passportoffice serve` on a free loopback port with its own data dir, a user and three clients."""
    root = tmp_path_factory.mktemp("interop")
    port = _free_port()
    issuer = f"http://localhost:{port}"
    # Nothing listens there: the login helper stops at the 303 to it, like a native app's loopback
    # listener would receive it (RFC 8252 §7.3).
    redirect_port = next(candidate for candidate in iter(_free_port, None) if candidate != port)
    redirect_uri = f"http://127.0.0.1:{redirect_port}/cb"
    browser_origin = f"http://localhost:{next(p for p in iter(_free_port, None) if p not in (port, redirect_port))}"
    settings = {
        "PASSPORTOFFICE_DATA_DIR": str(root / "data"),
        # Cheap argon2: these tests are about the protocol, the OWASP parameters are tested elsewhere.
        "PASSPORTOFFICE_ARGON2_TIME_COST": "1",
        "PASSPORTOFFICE_ARGON2_MEMORY_COST": "64",
    }
    # Only these settings: none of the PASSPORTOFFICE_* variables set around the test run.
    outside = [name for name in os.environ if name.startswith("PASSPORTOFFICE_")]
    cli_env: dict[str, str | None] = {name: None for name in outside} | settings
    server_env = {name: value for name, value in os.environ.items() if name not in outside} | settings

    # The first command creates the database and the instance secret, so the server starts on it.
    _cli(cli_env, "users", "add", USERNAME, "--email", EMAIL, "--name", NAME, "--email-verified",
         "--password-stdin", stdin=PASSWORD + "\n")
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_command(), "serve", "--port", str(port), "--issuer", issuer],
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Seeding goes on while the server starts; SQLite serialises the writes.
        sub = next(user["id"] for user in json.loads(_cli(cli_env, "users", "list", "--json"))
                   if user["username"] == USERNAME)
        service = ("--grant", "client_credentials", "--scope", SERVICE_SCOPE, "--audience", API_AUDIENCE)
        public = _add_client(cli_env, "interop-public", redirect_uri, "--public")
        basic = _add_client(cli_env, "interop-basic", redirect_uri, *service, "--auth-method", "client_secret_basic")
        post = _add_client(cli_env, "interop-post", redirect_uri, *service, "--auth-method", "client_secret_post")
        browser = _add_client(
            cli_env, "interop-browser", f"{browser_origin}/oidc_client_ts/callback.html",
            "--public", "--origin", browser_origin,
        )
        _wait_healthy(process, f"http://127.0.0.1:{port}", log_path)
        server = InteropServer(issuer, redirect_uri, sub, public, basic, post, log_path, browser_origin, browser)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- The browser's part --------------------------------------------------------------------------


class _Form(HTMLParser):
    """The first form of a page: its action and its input values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and self.action is not None and not self._done and "name" in values:
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._done = True


class _CookieJar:
    """Cookies by name. httpx will not send `Secure` cookies over http://, but a browser does on localhost."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def take(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self._values.pop(name, None)
                else:
                    self._values[name] = morsel.value

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self._values.items())}


def browser_visit(authorization_url: str, redirect_uri: str) -> str:
    """A browser without a session loads the authorization URL; return where the provider sends it back."""
    response = httpx.get(authorization_url, follow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text
    location = urljoin(authorization_url, response.headers["location"])
    assert location.startswith(redirect_uri + "?"), location
    return location


def browser_login(authorization_url: str, redirect_uri: str, username: str = USERNAME,
                  password: str = PASSWORD) -> str:
    """Do what the user's browser does: follow to the sign-in page, submit it; return the redirect to the client."""
    cookies = _CookieJar()
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        response = http.get(authorization_url)
        cookies.take(response)
        assert response.status_code == 303, response.text
        login_url = urljoin(authorization_url, response.headers["location"])
        assert urlsplit(login_url).path == "/login", login_url

        page = http.get(login_url, headers=cookies.header())
        cookies.take(page)
        assert page.status_code == 200, page.text
        form = _Form()
        form.feed(page.text)
        assert form.action is not None, page.text
        submitted = {**form.fields, "username": username, "password": password}

        response = http.post(urljoin(login_url, form.action), data=submitted, headers=cookies.header())
        assert response.status_code == 303, response.text
        location = urljoin(login_url, response.headers["location"])
        assert location.startswith(redirect_uri + "?"), location
        return location
