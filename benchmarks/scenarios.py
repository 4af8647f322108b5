"""What is measured: each scenario is an endpoint, the server it runs on, its requests and its floor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt

from benchmarks.floors import SERVER_CPU
from benchmarks.seed import REDIRECT_URI, Seeded

FORM = "application/x-www-form-urlencoded"
# Every wrk connection comes from 127.0.0.1, and the provider counts login attempts in flight per client
# address (20 by default) before it checks a password: more parallel logins than that would be
# throttled, and rightly so. Two cores hashing need far fewer to stay busy.
LOGIN_CONNECTIONS = 16

Check = Callable[[httpx.Response], str | None]
SCENARIO_KEYS = ("client_credentials_es256", "refresh_token_rotation", "client_credentials_rs256", "password_login")


@dataclass(frozen=True)
class ServerSetup:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    cpus: str | None = str(SERVER_CPU)  # None: every CPU (argon2 releases the GIL and uses them)


ES256_SERVER = ServerSetup("es256")
RS256_SERVER = ServerSetup("rs256", {"PASSPORTOFFICE_ACCESS_TOKEN_SIGNING_ALG": "RS256"})
LOGIN_SERVER = ServerSetup("all-cpus", cpus=None)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    server: ServerSetup
    path: str
    bodies: Path
    once: bool  # each body single-use (refresh tokens, pending logins)
    expected: frozenset[int]
    headers: dict[str, str]
    floor: str  # a `Floors` attribute
    floor_label: str
    check_body: str
    check: Check
    max_connections: int | None = None


def build(seeded: Seeded) -> list[Scenario]:
    basic = {"Authorization": seeded.basic_authorization, "Content-Type": FORM}
    client_credentials_body = seeded.client_credentials_body.read_text().strip()
    scenarios = [
        Scenario(
            key="client_credentials_es256",
            title="client_credentials (ES256)",
            server=ES256_SERVER,
            path="/token",
            bodies=seeded.client_credentials_body,
            once=False,
            expected=frozenset({200}),
            headers=basic,
            floor="es256_sign",
            floor_label="1 ES256 signature",
            check_body=client_credentials_body,
            check=_access_token("ES256", refresh=False),
        ),
        Scenario(
            key="refresh_token_rotation",
            title="refresh_token, rotated (AT ES256 + ID token RS256)",
            server=ES256_SERVER,
            path="/token",
            bodies=seeded.refresh_bodies,
            once=True,
            expected=frozenset({200}),
            headers={"Content-Type": FORM},
            floor="es256_plus_rs256_sign",
            floor_label="1 ES256 + 1 RS256 signature",
            check_body=seeded.refresh_check,
            check=_access_token("ES256", refresh=True),
        ),
        Scenario(
            key="client_credentials_rs256",
            title="client_credentials (RS256)",
            server=RS256_SERVER,
            path="/token",
            bodies=seeded.client_credentials_body,
            once=False,
            expected=frozenset({200}),
            headers=basic,
            floor="rs256_sign",
            floor_label="1 RS256 signature",
            check_body=client_credentials_body,
            check=_access_token("RS256", refresh=False),
        ),
        Scenario(
            key="password_login",
            title="password login (POST /login, 2 cores)",
            server=LOGIN_SERVER,
            path="/login",
            bodies=seeded.login_bodies,
            once=True,
            expected=frozenset({303}),
            headers={"Content-Type": FORM, "Cookie": seeded.csrf_cookie},
            floor="argon2id_verify_2_threads",
            floor_label="argon2id verify, 2 threads",
            check_body=seeded.login_check,
            check=_redirect_with_code,
            max_connections=LOGIN_CONNECTIONS,
        ),
    ]
    assert tuple(scenario.key for scenario in scenarios) == SCENARIO_KEYS
    return scenarios


def _access_token(alg: str, *, refresh: bool) -> Check:
    def check(response: httpx.Response) -> str | None:
        if response.status_code != 200:
            return f"status {response.status_code}: {response.text[:300]}"
        body = response.json()
        header = jwt.get_unverified_header(body.get("access_token", ""))
        if header.get("alg") != alg or header.get("typ") != "at+jwt":
            return f"access token header {header}, expected alg {alg} and typ at+jwt"
        if refresh and not (body.get("refresh_token") and body.get("id_token")):
            return "a refresh answer without a new refresh token or ID token"
        return None

    return check


def _redirect_with_code(response: httpx.Response) -> str | None:
    location = response.headers.get("location", "")
    if response.status_code != 303 or not location.startswith(REDIRECT_URI + "?code="):
        return f"status {response.status_code}, Location {location[:120]!r}: {response.text[:300]}"
    return None
