"""Scale-out: several `serve` processes (and the workers of one) on one PostgreSQL database share all state.

Each test runs real `passportoffice serve` processes on free ports, against a scratch database with
the same instance secret, and shows that what one process did is seen by another: refresh rotation
and reuse detection, single-use codes, login throttling (K30) and client assertion replay (K26). With
`redis_url` the throttle counters and seen assertions live in Redis, and the same holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import username_key
from passportoffice.settings import Settings
from passportoffice.storage import migrate
from passportoffice.storage.database import Database
from passportoffice.storage.records import Client, User
from passportoffice.storage.sql import SqlStorage
from passportoffice.storage.tables import login_throttle, used_client_assertions
from tests.cli.test_serve import _command, _free_port
from tests.support.databases import scratch_database
from tests.support.flows import PASSWORD, SPA_REDIRECT, hidden_fields, pkce_pair, query_of

pytestmark = pytest.mark.postgres

SECRET = "scale-out-secret-" + "s" * 32
LOGIN_LIMIT = 3
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Serve:
    """One `passportoffice serve` process on a free port; its log goes to a file."""

    def __init__(self, env: dict[str, str], log: Path, *arguments: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [*_command(), "serve", "--port", str(self.port), *arguments],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("serve did not answer: " + log.read_text())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=40)


@pytest.fixture
def scratch(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        asyncio.run(migrate.upgrade(url))
        yield url


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def counters_in(request: pytest.FixtureRequest) -> str | None:
    """Where the throttle counters and seen assertions live: the database, or Redis (redis_url)."""
    if request.param == "database":
        return None
    url: str = request.getfixturevalue("redis_server")
    return url


@pytest.fixture
def environment(scratch: str, tmp_path: Path, counters_in: str | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PASSPORTOFFICE_")}
    env |= {
        "PASSPORTOFFICE_DATABASE_URL": scratch,
        # A secret of its own per test: throttle keys are keyed hashes, so Redis keys never collide.
        "PASSPORTOFFICE_SECRET_KEY": SECRET + secrets.token_hex(8),
        "PASSPORTOFFICE_DATA_DIR": str(tmp_path / "data"),
        # One issuer for every process, as behind a load balancer.
        "PASSPORTOFFICE_ISSUER": "http://localhost:8999",
        "PASSPORTOFFICE_REFRESH_REUSE_WINDOW": "0",  # a replay is a reuse at once: no grace to wait out
        "PASSPORTOFFICE_LOGIN_MAX_FAILURES_PER_ACCOUNT": str(LOGIN_LIMIT),
        "PASSPORTOFFICE_ARGON2_TIME_COST": "1",
        "PASSPORTOFFICE_ARGON2_MEMORY_COST": "64",
    }
    if counters_in:
        env["PASSPORTOFFICE_REDIS_URL"] = counters_in
    return env


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def seeded(environment: dict[str, str], rsa_key: rsa.RSAPrivateKey) -> None:
    asyncio.run(_seed(environment, rsa_key))


async def _seed(env: dict[str, str], rsa_key: rsa.RSAPrivateKey) -> None:
    settings = Settings(
        database_url=env["PASSPORTOFFICE_DATABASE_URL"], argon2_time_cost=1, argon2_memory_cost=64
    )
    storage = SqlStorage(Database(settings.resolved_database_url))
    provider = Provider(settings, storage, env["PASSPORTOFFICE_SECRET_KEY"].encode())
    now = provider.now()
    try:
        await provider.storage.add_user(
            User(
                id=new_token(16),
                username="alice",
                username_key=username_key("alice"),
                email=None,
                email_verified=False,
                name="Alice",
                password_hash=provider.passwords.hash(PASSWORD),
                disabled=False,
                created_at=now,
            )
        )
        await provider.storage.add_client(
            Client(
                client_id="spa",
                token_endpoint_auth_method="none",
                redirect_uris=(SPA_REDIRECT,),
                grant_types=("authorization_code", "refresh_token"),
                scopes=("openid", "profile"),
                first_party=True,
                created_at=now,
            )
        )
        jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
        jwk.update(kid="k1", alg="RS256", use="sig")
        await provider.storage.add_client(
            Client(
                client_id="jwt-client",
                token_endpoint_auth_method="private_key_jwt",
                redirect_uris=(),
                grant_types=("client_credentials",),
                scopes=("notes:read",),
                jwks={"keys": [jwk]},
                created_at=now,
            )
        )
    finally:
        await provider.storage.close()


@contextmanager
def instances(env: dict[str, str], tmp_path: Path, count: int = 2) -> Iterator[list[Serve]]:
    with ExitStack() as stack:
        started = []
        for index in range(count):
            serve = Serve(env, tmp_path / f"serve-{index}.log")
            stack.callback(serve.stop)
            started.append(serve)
        yield started


def login(base: str, username: str = "alice", password: str = PASSWORD) -> httpx.Response:
    """An authorization request, the sign-in form and its POST, all at `base` (cookies by hand: the
    __Host- CSRF cookie is Secure, which a client keeps from plain-http loopback)."""
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "spa",
        "redirect_uri": SPA_REDIRECT,
        "scope": "openid profile",
        "state": new_token(16),
        "nonce": new_token(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=base, timeout=10) as http:
        started = http.get("/authorize", params=params)
        assert started.status_code == 303, started.text
        form = http.get(started.headers["location"])
        assert form.status_code == 200, form.text
        cookie = "; ".join(header.split(";", 1)[0] for header in form.headers.get_list("set-cookie"))
        answer = http.post(
            "/login",
            data={**hidden_fields(form.text), "username": username, "password": password},
            headers={"Cookie": cookie},
        )
    answer.verifier = verifier  # type: ignore[attr-defined]
    return answer


def tokens_via(base: str) -> dict[str, Any]:
    answer = login(base)
    assert answer.status_code == 303, answer.text
    code = query_of(answer.headers["location"])["code"]
    redeemed = redeem(base, code, answer.verifier)  # type: ignore[attr-defined]
    assert redeemed.status_code == 200, redeemed.text
    body: dict[str, Any] = redeemed.json()
    body["code"], body["verifier"] = code, answer.verifier  # type: ignore[attr-defined]
    return body


def redeem(base: str, code: str, verifier: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": SPA_REDIRECT,
        "code_verifier": verifier,
        "client_id": "spa",
    }
    return httpx.post(base + "/token", data=form, timeout=10)


def refresh(base: str, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": "spa"}
    return httpx.post(base + "/token", data=form, timeout=10)


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("error", "")


async def _count(url: str, table: sa.Table) -> int:
    db = Database(url)
    try:
        async with db.read() as c:
            return int((await c.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())
    finally:
        await db.close()


@pytest.mark.usefixtures("seeded")
def test_two_instances_share_every_single_use_and_every_counter(
    environment: dict[str, str], tmp_path: Path, rsa_key: rsa.RSAPrivateKey, counters_in: str | None
) -> None:
    """Two `serve` processes on one database: whatever one consumed or counted, the other refuses."""
    with instances(environment, tmp_path) as (a, b):
        # Refresh rotation at B of a token issued by A; the replayed predecessor at A is a reuse:
        # invalid_grant, and the whole family is revoked, so B's successor is refused too.
        issued = tokens_via(a.url)
        rotated = refresh(b.url, issued["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        assert error_of(refresh(a.url, issued["refresh_token"])) == (400, "invalid_grant")
        assert error_of(refresh(b.url, rotated.json()["refresh_token"])) == (400, "invalid_grant")

        # A code redeemed at A is refused at B, and the grant issued from it is revoked (RFC 6749 §4.1.2).
        fresh = tokens_via(a.url)
        assert error_of(redeem(b.url, fresh["code"], fresh["verifier"])) == (400, "invalid_grant")
        assert error_of(refresh(a.url, fresh["refresh_token"])) == (400, "invalid_grant")

        # K30 across instances: failures at A and B count against one limit; then even the right
        # password is throttled, at either.
        statuses = [login(each.url, password="wrong").status_code for each in (a, b, a)]
        assert statuses == [401] * LOGIN_LIMIT
        assert login(b.url, password="wrong").status_code == 429
        assert login(a.url).status_code == 429

        # K26 across instances: an assertion accepted at A is a replay at B.
        now = int(time.time())
        claims = {"iss": "jwt-client", "sub": "jwt-client", "aud": "http://localhost:8999/token", "iat": now,
                  "exp": now + 60, "jti": new_token(16)}  # fmt: skip
        assertion = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "k1"})
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        assert httpx.post(a.url + "/token", data=form, timeout=10).status_code == 200
        assert error_of(httpx.post(b.url + "/token", data=form, timeout=10)) == (401, "invalid_client")

        codes = [each.stop() for each in (a, b)]
    assert codes == [0, 0]
    # Where the counters went: the database's tables, or (with redis_url) Redis and not the tables.
    url = environment["PASSPORTOFFICE_DATABASE_URL"]
    in_tables = asyncio.run(_count(url, login_throttle)), asyncio.run(_count(url, used_client_assertions))
    assert in_tables == ((0, 0) if counters_in else (2, 1))


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("counters_in", ["database"], indirect=True)
def test_two_workers_each_answer_and_share_state(environment: dict[str, str], tmp_path: Path) -> None:
    """`serve --workers 2`: each worker answers on its own (the other one stopped), a refresh token
    rotated by one worker is reuse-detected by the other, and a worker killed is replaced."""
    serve = Serve(environment, tmp_path / "workers.log", "--workers", "2")
    try:
        pids = [int(pid) for pid in re.findall(r"worker \d of 2 ready \(pid (\d+)\)", serve.log.read_text())]
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = [int(pid) for pid in re.findall(r"worker \d of 2 ready \(pid (\d+)\)", serve.log.read_text())]
        assert len(set(pids)) == 2, serve.log.read_text()
        first, second = pids
        issued = tokens_via(serve.url)
        # SIGSTOP: the stopped worker accepts nothing, so the kernel hands every connection to the other.
        os.kill(first, signal.SIGSTOP)
        try:
            rotated = refresh(serve.url, issued["refresh_token"])
        finally:
            os.kill(first, signal.SIGCONT)
        assert rotated.status_code == 200, rotated.text
        os.kill(second, signal.SIGSTOP)
        try:
            replayed = refresh(serve.url, issued["refresh_token"])
            successor = refresh(serve.url, rotated.json()["refresh_token"])
        finally:
            os.kill(second, signal.SIGCONT)
        assert error_of(replayed) == (400, "invalid_grant")
        assert error_of(successor) == (400, "invalid_grant")
        # A worker that dies is replaced, and the port keeps answering.
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        replaced = rf"worker \d \(pid {first}\) exited with code -9: starting another\n.*ready \(pid \d+\)"
        while not re.search(replaced, serve.log.read_text(), re.S):
            assert time.monotonic() < deadline, serve.log.read_text()
            time.sleep(0.1)
        assert httpx.get(serve.url + "/jwks", timeout=10).status_code == 200
    finally:
        code = serve.stop()
    log = serve.log.read_text()
    assert code == 0, log
    assert "Traceback" not in log
    assert log.count("Finished server process") == 2  # both live workers stopped gracefully
