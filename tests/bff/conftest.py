"""Fixtures for the BFF: a real provider process (once per run), a guard-protected notes API, and a
fresh BFF (own store, own clock) per test, all on free loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from passportoffice.crypto.keys import generate_key
from tests.bff.stack import (
    API_AUDIENCE,
    Browser,
    NotesApi,
    Provider,
    RunningBff,
    bff_settings,
    running_bff,
    serve_in_thread,
)
from tests.interop.conftest import _cli, _command, _free_port, _wait_healthy

USERS = {"alice": "alice: correct horse battery", "bob": "bob: tr0ub4dor&3 staple"}


@pytest.fixture(scope="session")
def bff_ports() -> tuple[int, int]:
    first = _free_port()
    second = next(port for port in iter(_free_port, None) if port != first)
    return first, second


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory, bff_ports: tuple[int, int]) -> Iterator[Provider]:
    """`passportoffice serve` with alice, bob and the confidential client `bff` registered for both BFF ports
    (back-channel logout to the first)."""
    root = tmp_path_factory.mktemp("bff-provider")
    port = next(p for p in iter(_free_port, None) if p not in bff_ports)
    issuer = f"http://localhost:{port}"
    settings = {
        "PASSPORTOFFICE_DATA_DIR": str(root / "data"),
        "PASSPORTOFFICE_ARGON2_TIME_COST": "1",
        "PASSPORTOFFICE_ARGON2_MEMORY_COST": "64",
        # Logouts queued by the CLI (another process) are found by the server's next poll.
        "PASSPORTOFFICE_BACKCHANNEL_LOGOUT_POLL_INTERVAL": "0.5",
    }
    outside = [name for name in os.environ if name.startswith("PASSPORTOFFICE_")]
    cli_env: dict[str, str | None] = {name: None for name in outside} | settings
    server_env = {name: value for name, value in os.environ.items() if name not in outside} | settings
    users = {}
    for username, password in USERS.items():
        printed = json.loads(_cli(cli_env, "users", "add", username, "--email", f"{username}@example.com",
                                  "--name", username.title(), "--email-verified", "--password-stdin", "--json",
                                  stdin=password + "\n"))
        users[username] = (password, printed["id"])
    first, second = bff_ports
    client = json.loads(_cli(
        cli_env, "clients", "add", "bff",
        "--redirect-uri", f"http://localhost:{first}/bff/callback",
        "--redirect-uri", f"http://localhost:{second}/bff/callback",
        "--redirect-uri", f"http://localhost:{second}/auth/bff/callback",  # mounted under a prefix
        "--post-logout-redirect-uri", f"http://localhost:{first}/",
        "--post-logout-redirect-uri", f"http://localhost:{second}/",
        "--backchannel-logout-uri", f"http://localhost:{first}/bff/backchannel-logout",
        "--backchannel-logout-session-required",
        "--scope", "openid", "--scope", "profile", "--scope", "email", "--scope", "offline_access",
        "--audience", API_AUDIENCE, "--first-party", "--auth-method", "client_secret_basic", "--json",
    ))
    key = generate_key("ES256")
    (root / "pkjwt.jwks").write_text(json.dumps({"keys": [key.public_jwk]}))
    pem = key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    _cli(
        cli_env, "clients", "add", "bff-pkjwt",
        "--redirect-uri", f"http://localhost:{second}/bff/callback",
        "--post-logout-redirect-uri", f"http://localhost:{second}/",
        "--scope", "openid", "--scope", "profile", "--scope", "offline_access",
        "--audience", API_AUDIENCE, "--first-party",
        "--auth-method", "private_key_jwt", "--jwks-file", str(root / "pkjwt.jwks"),
    )
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([*_command(), "serve", "--port", str(port), "--issuer", issuer],
                                   env=server_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, f"http://127.0.0.1:{port}", log_path)
        yield Provider(issuer, root / "data", cli_env, client["client_secret"], users, (pem, key.kid))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def notes_api(provider: Provider) -> Iterator[NotesApi]:
    api = NotesApi(provider.issuer)
    port = _free_port()
    with serve_in_thread(api.app(), port):
        api.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield api


STATIC = Path(__file__).parent / "static"


@pytest.fixture
def bff(provider: Provider, notes_api: NotesApi, bff_ports: tuple[int, int], tmp_path: Path) -> Iterator[RunningBff]:
    """The BFF on the port registered for back-channel logout, serving a small test app (static/)."""
    store = f"sqlite+aiosqlite:///{tmp_path / 'bff.db'}"
    settings = bff_settings(provider, bff_ports[0], notes_api.url, store)  # type: ignore[attr-defined]
    with running_bff(settings, bff_ports[0], notes_api, static_dir=STATIC) as running:
        yield running


@pytest.fixture
def browser(bff: RunningBff) -> Iterator[Browser]:
    client = Browser(bff)
    yield client
    client.close()


def password(provider: Provider, username: str) -> str:
    return provider.users[username][0]


def sub(provider: Provider, username: str) -> str:
    return provider.users[username][1]


@pytest.fixture
def other_bff(provider: Provider, notes_api: NotesApi, bff_ports: tuple[int, int], tmp_path: Path):  # type: ignore[no-untyped-def]
    """A second BFF on the other registered port, with settings changed by the test."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(**overrides: object) -> RunningBff:
            store = f"sqlite+aiosqlite:///{tmp_path / 'other-bff.db'}"
            settings = bff_settings(provider, bff_ports[1], notes_api.url, store, **overrides)  # type: ignore[attr-defined]
            return stack.enter_context(running_bff(settings, bff_ports[1], notes_api))

        yield start
