"""`passportoffice bff`: one-line errors for bad arguments, and a real process that logs a person in and
proxies their API calls."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from typer.testing import CliRunner

from passportoffice.cli.main import app
from tests.bff.conftest import password, sub
from tests.bff.stack import SECRET_KEY, Browser, NotesApi, Provider, bff_settings
from tests.cli.conftest import assert_one_line_error
from tests.interop.conftest import _command


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "client.secret"
    path.write_text("s3cret\n")
    return path


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PASSPORTOFFICE_"):
            monkeypatch.delenv(name)


def invoke(*args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(app, ["bff", *args], env=env)


BASE = ("--issuer", "http://localhost:9000", "--client-id", "bff")


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        (("--upstream", "api"), {"PASSPORTOFFICE_BFF_SECRET_KEY": SECRET_KEY},
         "--upstream 'api': use PREFIX=URL, e.g. /api=http://localhost:9001"),
        (("--upstream", "api=http://localhost:9001"), {"PASSPORTOFFICE_BFF_SECRET_KEY": SECRET_KEY},
         "invalid BFF setting upstreams.0.prefix: upstream prefix 'api' must look like /api "
         "(no trailing slash, no dot segments)"),
        (("--upstream", "/api=ftp://x"), {"PASSPORTOFFICE_BFF_SECRET_KEY": SECRET_KEY},
         "invalid BFF setting upstreams.0.url: upstream URL 'ftp://x' must be an absolute http(s) URL "
         "without query or fragment"),
        ((), {}, "invalid BFF setting secret_key: give --secret-key-file or set PASSPORTOFFICE_BFF_SECRET_KEY "
                 "(32+ characters)"),
        ((), {"PASSPORTOFFICE_BFF_SECRET_KEY": "short"},
         "invalid BFF setting secret_key: secret_key must be at least 32 characters"),
        (("--base-url", "http://app.example"), {"PASSPORTOFFICE_BFF_SECRET_KEY": SECRET_KEY},
         "invalid BFF setting base_url: 'http://app.example' must use https (http only on localhost)"),
        (("--session-store", "mysql://db"), {"PASSPORTOFFICE_BFF_SECRET_KEY": SECRET_KEY},
         "session_store must be sqlite+aiosqlite://, postgresql+asyncpg:// or redis:// URL"),
    ],
)
def test_bad_arguments_fail_with_one_error_line(secret_file: Path, extra: tuple[str, ...], env: dict[str, str],
                                                message: str) -> None:
    result = invoke(*BASE, "--client-secret-file", str(secret_file), *extra, env=env)
    assert assert_one_line_error(result, 2 if "session_store" not in message else 1) == message  # type: ignore[arg-type]


def test_a_missing_secret_file_fails_with_one_error_line(tmp_path: Path) -> None:
    result = invoke(*BASE, "--client-secret-file", str(tmp_path / "absent"))
    message = assert_one_line_error(result, 2)  # type: ignore[arg-type]
    assert message == f"--client-secret-file {str(tmp_path / 'absent')!r}: No such file or directory"


def test_the_bff_process_logs_in_and_proxies(
    provider: Provider, notes_api: NotesApi, bff_ports: tuple[int, int], tmp_path: Path
) -> None:
    port = bff_ports[1]
    secret = tmp_path / "bff-client.secret"
    secret.write_text(provider.client_secret + "\n")
    key = tmp_path / "bff.key"
    key.write_text(SECRET_KEY)
    api_url: str = notes_api.url  # type: ignore[attr-defined]
    log = (tmp_path / "bff.log").open("wb")
    process = subprocess.Popen(
        [*_command(), "bff", "--issuer", provider.issuer, "--client-id", "bff", "--client-secret-file", str(secret),
         "--upstream", f"/api={api_url}", "--port", str(port), "--secret-key-file", str(key),
         "--session-store", f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"],
        stdout=log, stderr=subprocess.STDOUT, env={k: v for k, v in os.environ.items()
                                                   if not k.startswith("PASSPORTOFFICE_")},
    )
    try:
        url = f"http://localhost:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/bff/user", headers={"X-Requested-With": "passportoffice"}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, (tmp_path / "bff.log").read_text()
            time.sleep(0.1)
        running = SimpleNamespace(url=url, settings=bff_settings(provider, port, api_url, "sqlite+aiosqlite://"))
        browser = Browser(running)  # type: ignore[arg-type]
        try:
            browser.login("bob", password(provider, "bob"))
            notes = browser.request("GET", "/api/notes")
            assert (notes.status_code, notes.json()["sub"]) == (200, sub(provider, "bob"))
        finally:
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        log.close()
