"""The logs of a real `passportoffice serve` process, as an operator collects them: JSON lines (one object
per line) that hold no password, secret, code or token after a full flow with its failures."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx
import pytest
from typer.testing import CliRunner

from passportoffice.cli.main import app
from tests.cli.test_serve import _command, _free_port
from tests.interop.conftest import _CookieJar, _Form

PASSWORD = "logs: correct horse battery staple"
WRONG_PASSWORD = "logs: a wrong guess that must not be logged"


def _cli(env: dict[str, str | None], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A JSON-logging server at DEBUG level with a user, a confidential web app and a resource server."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "PASSPORTOFFICE_DATA_DIR": str(tmp_path / "data"),
        "PASSPORTOFFICE_ARGON2_TIME_COST": "1",
        "PASSPORTOFFICE_ARGON2_MEMORY_COST": "64",
        "PASSPORTOFFICE_LOG_FORMAT": "json",
        "PASSPORTOFFICE_LOG_LEVEL": "DEBUG",
    }
    outside = [name for name in os.environ if name.startswith("PASSPORTOFFICE_")]
    cli_env: dict[str, str | None] = {name: None for name in outside} | settings
    _cli(cli_env, "users", "add", "alice", "--email", "alice@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    web = json.loads(_cli(cli_env, "clients", "add", "web", "--redirect-uri", "http://127.0.0.1:1/cb", "--json"))
    rs = json.loads(_cli(cli_env, "clients", "add", "rs", "--grant", "client_credentials", "--scope", "notes:read",
                         "--json"))
    log_path = tmp_path / "server.log"
    server_env = {name: value for name, value in os.environ.items() if name not in outside} | settings
    # Other argon2 parameters than the CLI's: the sign-in rehashes the password and stores the new hash.
    server_env["PASSPORTOFFICE_ARGON2_TIME_COST"] = "2"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_command(), "serve", "--port", str(port), "--issuer", f"http://localhost:{port}"],
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield base, log_path, {"web": web["client_secret"], "rs": rs["client_secret"]}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_json_logs_of_a_full_flow_hold_no_secret(server: tuple[str, Path, dict[str, str]]) -> None:
    base, log_path, client_secrets = server
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code", "client_id": "web", "redirect_uri": "http://127.0.0.1:1/cb",
        "scope": "openid profile email offline_access", "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16), "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    cookies = _CookieJar()
    with httpx.Client(base_url=base, timeout=10) as http:
        to_login = http.get("/authorize?" + urlencode(query))
        cookies.take(to_login)
        page = http.get(to_login.headers["location"], headers=cookies.header())
        cookies.take(page)
        form = _Form()
        form.feed(page.text)
        login_url = urljoin(base + "/", str(form.action))
        wrong = http.post(login_url, data={**form.fields, "username": "alice", "password": WRONG_PASSWORD},
                          headers=cookies.header())
        assert wrong.status_code == 401
        signed_in = http.post(login_url, data={**form.fields, "username": "alice", "password": PASSWORD},
                              headers=cookies.header())
        assert signed_in.status_code == 303, signed_in.text
        cookies.take(signed_in)
        consent_page = http.get(signed_in.headers["location"], headers=cookies.header())  # a third-party app
        consent = _Form()
        consent.feed(consent_page.text)
        allowed = http.post(urljoin(base + "/", str(consent.action)), data={**consent.fields, "decision": "allow"},
                            headers=cookies.header())
        assert allowed.status_code == 303, allowed.text
        code = httpx.URL(allowed.headers["location"]).params["code"]
        web = ("web", client_secrets["web"])
        redeem = {"grant_type": "authorization_code", "code": code, "redirect_uri": query["redirect_uri"],
                  "code_verifier": verifier}
        tokens = http.post("/token", data=redeem, auth=web).json()
        refreshed = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                              auth=web).json()
        assert "access_token" in refreshed, refreshed
        bearer = {"Authorization": "Bearer " + refreshed["access_token"]}
        assert http.get("/userinfo", headers=bearer).status_code == 200
        assert http.get("/userinfo", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        introspected = http.post("/introspect", data={"token": refreshed["access_token"]},
                                 auth=("rs", client_secrets["rs"]))
        assert introspected.json()["active"] is True
        wrong_secret = http.post("/token", data={"grant_type": "client_credentials"}, auth=("rs", "not-the-secret"))
        assert wrong_secret.status_code == 401
        service = http.post("/token", data={"grant_type": "client_credentials"}, auth=("rs", client_secrets["rs"]))
        assert http.post("/revoke", data={"token": refreshed["refresh_token"]}, auth=web).status_code == 200
        logout = http.get("/end_session", params={"id_token_hint": refreshed["id_token"], "state": "bye"},
                          headers=cookies.header())
        assert logout.status_code == 200
        assert http.post("/token", data=redeem, auth=web).json()["error"] == "invalid_grant"  # code reuse

    time.sleep(0.5)  # the last access log lines are written after the responses
    lines = log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    logged = "\n".join(lines)
    for path in ("/authorize", "/login", "/consent", "/token", "/userinfo", "/introspect", "/revoke", "/end_session"):
        assert f" {path} " in logged, f"the access log has no line for {path}"
    with sqlite3.connect(log_path.parent / "data" / "passportoffice.db") as database:
        (password_hash,) = database.execute("SELECT password_hash FROM users").fetchone()
    session_cookie = next(value for name, value in cookies._values.items() if name.endswith("-session"))
    never = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "password hash": password_hash,
        "client secret": client_secrets["web"],
        "resource server secret": client_secrets["rs"],
        "code": code,
        "code verifier": verifier,
        "CSRF token": form.fields["csrf_token"],
        "consent CSRF token": consent.fields["csrf_token"],
        "session cookie": session_cookie,
        "access token": tokens["access_token"],
        "ID token": tokens["id_token"],
        "refresh token": tokens["refresh_token"],
        "rotated refresh token": refreshed["refresh_token"],
        "rotated access token": refreshed["access_token"],
        "service token": service.json()["access_token"],
    }
    for name, value in never.items():
        # JSON escapes nothing in these values (base64url, ASCII), so a plain search finds any copy.
        assert value not in logged, f"the {name} appears in the logs"
