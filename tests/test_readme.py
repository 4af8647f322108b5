"""The README's commands work as written: its "Running it for real" block runs here, line by line, against a
scratch PostgreSQL database (the one thing substituted: the database URL and the secret's value)."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from passportoffice.cli.main import app
from tests.cli.test_serve import _command
from tests.support.databases import scratch_database

README = Path(__file__).resolve().parents[1] / "README.md"
MAKEFILE = README.with_name("Makefile")


def _block(heading: str) -> list[list[str]]:
    """The shell lines of the first ```sh block after `heading`, split into words, comments dropped."""
    text = README.read_text()
    section = text[text.index(heading) :]
    body = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert body is not None
    return [shlex.split(line, comments=True) for line in body.group(1).splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        yield url


def test_the_two_commands_are_make_targets() -> None:
    """`make run` and `make test`, the README's two commands, are targets of the Makefile."""
    assert [words[:2] for words in _block("## Two commands")] == [["make", "run"], ["make", "test"]]
    targets = re.findall(r"^([a-z]+):", MAKEFILE.read_text(), re.MULTILINE)
    assert {"run", "test"} <= set(targets)


@pytest.mark.postgres
def test_running_it_for_real_block_runs_as_written(database: str, tmp_path: Path) -> None:
    lines = _block("## Running it for real")
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("PASSPORTOFFICE_")}
    env |= {"PASSPORTOFFICE_DATA_DIR": str(tmp_path / "data"), "PASSPORTOFFICE_ARGON2_MEMORY_COST": "64"}
    substitutes = {"PASSPORTOFFICE_DATABASE_URL": database, "PASSPORTOFFICE_SECRET_KEY": "r" * 64}
    runner = CliRunner()
    outputs: dict[str, str] = {}
    server: subprocess.Popen[bytes] | None = None
    try:
        for words in lines:
            if words[0] == "export":
                name, _, _ = words[1].partition("=")
                assert name in substitutes, f"the README exports {name}, which this test does not know"
                env[name] = substitutes[name]
                continue
            assert words[0] == "passportoffice", words
            args, stdin = words[1:], None
            if "<" in args:  # `--password-stdin < file`: the file holds the password
                args, stdin = args[: args.index("<")], "a password from a file\n"
            if args[0] == "serve":
                server = _start(args, env, tmp_path / "serve.log")
                continue
            result = runner.invoke(app, args, input=stdin, env=env)
            assert result.exit_code == 0, f"passportoffice {shlex.join(args)}:\n{result.output}"
            outputs[" ".join(args[:2])] = result.stdout
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
    assert server is not None and server.returncode == 0
    assert json.loads(outputs["clients add"])["client_id"] == "my-api"
    assert "client_secret" in json.loads(outputs["clients add"])


def _start(args: list[str], env: dict[str, str | None], log: Path) -> subprocess.Popen[bytes]:
    """`serve` as written, except that it listens on a free loopback port instead of 0.0.0.0:8000."""
    options = dict(zip(args[1::2], args[2::2], strict=True))
    assert set(options) == {"--issuer", "--host", "--port"}
    port = _free_port()
    options |= {"--host": "127.0.0.1", "--port": str(port)}
    process_env = {name: value for name, value in (os.environ | env).items() if value is not None}
    command = [*_command(), "serve", *(word for pair in options.items() for word in pair)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=process_env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            metadata = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    assert metadata.json()["issuer"] == options["--issuer"]
    return process
