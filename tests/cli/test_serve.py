"""`passportoffice serve` and `passportoffice migrate`: a real server process, and the migration rules."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from passportoffice.storage import migrate
from tests.cli.conftest import Invoke, assert_one_line_error

SECRET = "s" * 40


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


@pytest.fixture
def listening_socket() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_answers_discovery_on_the_given_port(data_dir: Path) -> None:
    """A real `serve` process migrates its SQLite database, prints its issuer, serves discovery and stops
    cleanly on SIGTERM."""
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("PASSPORTOFFICE_")}
    env["PASSPORTOFFICE_DATA_DIR"] = str(data_dir)
    process = subprocess.Popen(
        [*_command(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, process.communicate()
        assert response is not None and response.status_code == 200
        # Without --issuer, the issuer names the port the server listens on.
        assert response.json()["issuer"] == f"http://localhost:{port}"
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=20)
    # SIGTERM (what systemd, Docker and Kubernetes send) is a graceful stop: exit 0, database closed,
    # which for SQLite means its write-ahead log was checkpointed and removed.
    assert process.returncode == 0, stderr
    assert list(data_dir.glob("*.db")) and not list(data_dir.glob("*-wal"))
    assert f"issuer:    http://localhost:{port}\n" in stdout
    assert f"discovery: http://localhost:{port}/.well-known/openid-configuration\n" in stdout
    assert "Traceback" not in stderr


def test_serve_on_a_busy_port_fails_with_an_error_line(cli: Invoke, listening_socket: int) -> None:
    """A port already in use ends `serve` with exit code 1 and an error line, not a traceback."""
    result = cli("serve", "--port", str(listening_socket), "--issuer", "http://localhost:9000")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[-1].startswith("error: the server did not start on 127.0.0.1:")


def test_migrate_brings_the_schema_up_to_date(cli: Invoke, data_dir: Path) -> None:
    """`migrate` applies every migration; afterwards nothing is pending."""
    url = f"sqlite+aiosqlite:///{data_dir / 'passportoffice.db'}"
    result = cli("migrate")
    assert result.exit_code == 0, result.output
    assert result.stdout == "database schema is up to date\n"
    assert asyncio.run(migrate.pending(url)) is False


@pytest.mark.postgres
def test_serve_on_postgres_refuses_pending_migrations(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, postgres_database: str
) -> None:
    """On PostgreSQL `serve` does not migrate by itself: it names the command to run, and `migrate` fixes it."""
    monkeypatch.setenv("PASSPORTOFFICE_SECRET_KEY", SECRET)
    message = assert_one_line_error(cli("serve", "--database", postgres_database), 1)
    assert message == "database schema is not up to date: run `passportoffice migrate`"
    assert cli("migrate", "--database", postgres_database).exit_code == 0
    monkeypatch.setenv("PASSPORTOFFICE_DATABASE_URL", postgres_database)
    assert cli("users", "add", "alice", "--password-stdin", input="pw\n").exit_code == 0
    assert "alice" in cli("users", "list", "--json").stdout


def test_serve_warns_about_refresh_cookie_clients_on_another_site(cli: Invoke, data_dir: Path) -> None:
    """At start-up `serve` warns once per refresh-cookie origin that is not same-site with the issuer, and
    says nothing about same-site ones or ordinary clients."""
    port = _free_port()
    issuer = "https://auth.example.com"
    for client_id, origins, cookie in [
        ("same-site-spa", ["https://app.example.com"], True),
        ("mixed-spa", ["https://app.example.com", "https://app.example.org"], True),
        ("cross-site-plain", ["https://app.example.net"], False),
    ]:
        options = [arg for origin in origins for arg in ("--origin", origin)]
        result = cli(
            "clients", "add", client_id, "--public", *(["--refresh-cookie"] if cookie else []), *options,
            "--redirect-uri", "https://app.example.com/cb",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    env = {name: value for name, value in os.environ.items() if not name.startswith("PASSPORTOFFICE_")}
    env["PASSPORTOFFICE_DATA_DIR"] = str(data_dir)
    process = subprocess.Popen(
        [*_command(), "serve", "--port", str(port), "--issuer", issuer],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, process.communicate()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    warnings = [line for line in stderr.splitlines() if "not on the same site" in line]
    assert len(warnings) == 1, stderr
    assert "mixed-spa" in warnings[0] and "https://app.example.org" in warnings[0] and issuer in warnings[0]
    assert "WARNING" in warnings[0]
