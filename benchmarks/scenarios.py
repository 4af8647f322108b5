"""What is measured: each scenario is an endpoint, the server it runs on, its requests and its floor.

An endpoint is measured on ours and, where the peer has it, on the peer (`oidc-provider`), one right
after the other with both servers up and pinned to the same CPU, so both see the same machine. Floors
are in-process (signatures, argon2id: `floors.py`) or served (the ASGI floor: a scenario of its own,
measured with wrk like the rest, before the endpoints compared with it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import jwt

from benchmarks import peer
from benchmarks.asgi_floor import PATH as ASGI_FLOOR_PATH
from benchmarks.floors import SERVER_CPU
from benchmarks.seed import REDIRECT_URI, Seeded

FORM = "application/x-www-form-urlencoded"
# Every wrk connection comes from 127.0.0.1, and the provider counts login attempts in flight per client
# address (20 by default) before it checks a password: more parallel logins than that would be
# throttled, and rightly so. Two cores hashing need far fewer to stay busy.
LOGIN_CONNECTIONS = 16
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"  # ours and the peer's default alike

Kind = Literal["ours", "peer", "asgi"]
IMPLEMENTATIONS: dict[str, str] = {"ours": "passportoffice", "peer": "oidc-provider", "asgi": "uvicorn + Starlette"}
Check = Callable[[httpx.Response, str], str | None]  # the answer and the body sent; a problem or None

# Endpoints, in the order they are reported; each is a scenario on ours and, but logins, one on the peer.
ENDPOINTS: dict[str, str] = {
    "client_credentials_es256": "client_credentials (ES256)",
    "refresh_token_rotation": "refresh_token, rotated (AT ES256 + ID token RS256)",
    "discovery": "discovery (GET /.well-known/openid-configuration)",
    "jwks": "JWK Set (GET /jwks)",
    "client_credentials_rs256": "client_credentials (RS256)",
    "password_login": "password login (POST /login, 2 cores)",
}
PEER_ENDPOINTS = ("client_credentials_es256", "refresh_token_rotation", "discovery", "jwks", "client_credentials_rs256")
ASGI_FLOOR_KEY = "asgi_minimal_json"
# Floors measured by a scenario (with wrk, against a server) rather than in-process.
SERVED_FLOORS = {ASGI_FLOOR_KEY: ASGI_FLOOR_KEY}
SCENARIO_KEYS = (
    ASGI_FLOOR_KEY,
    "client_credentials_es256",
    "peer_client_credentials_es256",
    "refresh_token_rotation",
    "peer_refresh_token_rotation",
    "discovery",
    "peer_discovery",
    "jwks",
    "peer_jwks",
    "client_credentials_rs256",
    "peer_client_credentials_rs256",
    "password_login",
)


@dataclass(frozen=True)
class ServerSetup:
    name: str
    kind: Kind = "ours"
    # Servers of one phase run together, each endpoint measured on ours then on the peer.
    phase: str = "es256"
    env: dict[str, str] = field(default_factory=dict)
    cpus: str | None = str(SERVER_CPU)  # None: every CPU (argon2 releases the GIL and uses them)
    alg: str = "ES256"  # the access tokens' signing algorithm
    seeds_refresh_tokens: bool = False  # the peer seeds its own, at start-up

    @property
    def implementation(self) -> str:
        return IMPLEMENTATIONS[self.kind]


ES256_SERVER = ServerSetup("es256")
PEER_ES256_SERVER = ServerSetup("peer-es256", kind="peer", seeds_refresh_tokens=True)
ASGI_FLOOR_SERVER = ServerSetup("asgi-floor", kind="asgi")
RS256_SERVER = ServerSetup(
    "rs256", phase="rs256", env={"PASSPORTOFFICE_ACCESS_TOKEN_SIGNING_ALG": "RS256"}, alg="RS256"
)
PEER_RS256_SERVER = ServerSetup("peer-rs256", kind="peer", phase="rs256", alg="RS256")
LOGIN_SERVER = ServerSetup("all-cpus", phase="login", cpus=None)


@dataclass(frozen=True)
class Scenario:
    key: str
    endpoint: str  # ENDPOINTS key: what ours and the peer are compared on
    server: ServerSetup
    path: str
    bodies: Path | None  # one request body per line; None for a GET
    once: bool  # each body single-use (refresh tokens, pending logins)
    expected: frozenset[int]
    headers: dict[str, str]
    floor: str | None  # a `Floors` name; None for a floor itself
    floor_label: str
    check_body: str | Path  # a Path is read when checking: the peer writes it at start-up
    check: Check
    method: str = "POST"
    max_connections: int | None = None

    @property
    def title(self) -> str:
        if self.endpoint == ASGI_FLOOR_KEY:
            return "minimal JSON response (GET, uvicorn + Starlette)"
        title = ENDPOINTS[self.endpoint]
        return title if self.server.kind == "ours" else f"{title} [{self.server.implementation}]"

    def check_request_body(self) -> str:
        if isinstance(self.check_body, Path):
            return self.check_body.read_text().strip()
        return self.check_body


def build(seeded: Seeded, workdir: Path) -> list[Scenario]:
    basic = {"Authorization": seeded.basic_authorization, "Content-Type": FORM}
    client_credentials_body = seeded.client_credentials_body.read_text().strip()
    peer_files = peer.files(workdir, PEER_ES256_SERVER.name)

    def client_credentials(server: ServerSetup) -> Scenario:
        alg = server.alg
        return Scenario(
            key=_key(f"client_credentials_{alg.lower()}", server),
            endpoint=f"client_credentials_{alg.lower()}",
            server=server,
            path="/token",
            bodies=seeded.client_credentials_body,
            once=False,
            expected=frozenset({200}),
            headers=basic,
            floor=f"{alg.lower()}_sign",
            floor_label=f"1 {alg} signature",
            check_body=client_credentials_body,
            check=access_token_check(alg, refresh=False),
        )

    def refresh(server: ServerSetup, bodies: Path, check_body: str | Path) -> Scenario:
        return Scenario(
            key=_key("refresh_token_rotation", server),
            endpoint="refresh_token_rotation",
            server=server,
            path="/token",
            bodies=bodies,
            once=True,
            expected=frozenset({200}),
            headers={"Content-Type": FORM},
            floor="es256_plus_rs256_sign",
            floor_label="1 ES256 + 1 RS256 signature",
            check_body=check_body,
            check=access_token_check("ES256", refresh=True),
        )

    def document(endpoint: str, path: str, server: ServerSetup, check: Check) -> Scenario:
        return Scenario(
            key=_key(endpoint, server),
            endpoint=endpoint,
            server=server,
            path=path,
            method="GET",
            bodies=None,
            once=False,
            expected=frozenset({200}),
            headers={},
            floor=ASGI_FLOOR_KEY,
            floor_label="minimal JSON, uvicorn + Starlette",
            check_body="",
            check=check,
        )

    scenarios = [
        Scenario(
            key=ASGI_FLOOR_KEY,
            endpoint=ASGI_FLOOR_KEY,
            server=ASGI_FLOOR_SERVER,
            path=ASGI_FLOOR_PATH,
            method="GET",
            bodies=None,
            once=False,
            expected=frozenset({200}),
            headers={},
            floor=None,
            floor_label="",
            check_body="",
            check=_json_status,
        ),
        client_credentials(ES256_SERVER),
        client_credentials(PEER_ES256_SERVER),
        refresh(ES256_SERVER, seeded.refresh_bodies, seeded.refresh_check),
        refresh(PEER_ES256_SERVER, peer_files.refresh_bodies, peer_files.refresh_check),
        document("discovery", DISCOVERY_PATH, ES256_SERVER, _discovery),
        document("discovery", DISCOVERY_PATH, PEER_ES256_SERVER, _discovery),
        document("jwks", JWKS_PATH, ES256_SERVER, _jwks),
        document("jwks", JWKS_PATH, PEER_ES256_SERVER, _jwks),
        client_credentials(RS256_SERVER),
        client_credentials(PEER_RS256_SERVER),
        Scenario(
            key="password_login",
            endpoint="password_login",
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


def select(scenarios: list[Scenario], only: list[str] | None, *, with_peer: bool) -> list[Scenario]:
    """The scenarios to run, in order: those asked for, and the served floors they are compared with."""
    chosen = {s.key for s in scenarios if (not only or s.key in only) and (with_peer or s.server.kind != "peer")}
    chosen |= {SERVED_FLOORS[s.floor] for s in scenarios if s.key in chosen and s.floor in SERVED_FLOORS}
    return [s for s in scenarios if s.key in chosen]


def _key(endpoint: str, server: ServerSetup) -> str:
    return endpoint if server.kind == "ours" else f"{server.kind}_{endpoint}"


def access_token_check(alg: str, *, refresh: bool) -> Check:
    def check(response: httpx.Response, sent: str) -> str | None:
        if response.status_code != 200:
            return f"status {response.status_code}: {response.text[:300]}"
        body = response.json()
        header = jwt.get_unverified_header(body.get("access_token", ""))
        if header.get("alg") != alg or header.get("typ") != "at+jwt":
            return f"access token header {header}, expected alg {alg} and typ at+jwt"
        if refresh:
            if not (body.get("refresh_token") and body.get("id_token")):
                return "a refresh answer without a new refresh token or ID token"
            if body["refresh_token"] in sent:
                return "the refresh token was not rotated: the answer holds the one sent"
            id_alg = jwt.get_unverified_header(body["id_token"]).get("alg")
            if id_alg != "RS256":
                return f"ID token signed {id_alg}, expected RS256"
        return None

    return check


def _json_status(response: httpx.Response, sent: str) -> str | None:
    if response.status_code != 200 or response.json() != {"status": "ok"}:
        return f"status {response.status_code}: {response.text[:300]}"
    return None


def _discovery(response: httpx.Response, sent: str) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:300]}"
    metadata = response.json()
    issuer = urlsplit(str(metadata.get("issuer", "")))
    if issuer.port != response.url.port:
        return f"metadata for the issuer {metadata.get('issuer')!r}, not this server"
    for member in ("token_endpoint", "jwks_uri"):
        # The peer names its endpoints after the request's Host (127.0.0.1), ours after the issuer (localhost).
        if urlsplit(str(metadata.get(member, ""))).port != issuer.port:
            return f"metadata without a {member} on this server: {metadata.get(member)!r}"
    return None


def _jwks(response: httpx.Response, sent: str) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:300]}"
    keys = json.loads(response.text).get("keys", [])
    types = {key.get("kty") for key in keys}
    if not {"EC", "RSA"} <= types:
        return f"a JWK Set with key types {sorted(map(str, types))}, expected an EC and an RSA key"
    if any("d" in key for key in keys):
        return "a private key in the JWK Set"
    return None


def _redirect_with_code(response: httpx.Response, sent: str) -> str | None:
    location = response.headers.get("location", "")
    if response.status_code != 303 or not location.startswith(REDIRECT_URI + "?code="):
        return f"status {response.status_code}, Location {location[:120]!r}: {response.text[:300]}"
    return None
