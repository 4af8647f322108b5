"""The README's "mount it in your own app" example, executed as written: a FastAPI app with the BFF mounted
serves its own route and a whole login through the BFF."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.bff.conftest import password, sub
from tests.bff.stack import SECRET_KEY, Browser, NotesApi, Provider, bff_settings, serve_in_thread

README = Path(__file__).resolve().parents[2] / "src" / "passportoffice" / "bff" / "README.md"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_mount_example_runs(
    provider: Provider, notes_api: NotesApi, bff_ports: tuple[int, int], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = bff_ports[1]
    api_url: str = notes_api.url  # type: ignore[attr-defined]
    for name, value in {
        "ISSUER": provider.issuer, "CLIENT_ID": "bff", "CLIENT_SECRET": provider.client_secret,
        "SECRET_KEY": SECRET_KEY, "BASE_URL": f"http://localhost:{port}",
        "SESSION_STORE": f"sqlite+aiosqlite:///{tmp_path / 'bff.db'}",
    }.items():
        monkeypatch.setenv("PASSPORTOFFICE_BFF_" + name, value)
    code = readme_example().replace("http://localhost:9001", api_url)  # the test's API instead of the demo's
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)

    with serve_in_thread(namespace["app"], port):
        running = SimpleNamespace(url=f"http://localhost:{port}",
                                  settings=bff_settings(provider, port, api_url, "sqlite+aiosqlite://"))
        browser = Browser(running)  # type: ignore[arg-type]
        try:
            assert browser.http.get(running.url + "/healthz").json() == {"status": "ok"}
            browser.login("alice", password(provider, "alice"))
            assert browser.request("GET", "/bff/user").json()["user"]["sub"] == sub(provider, "alice")
            assert browser.request("GET", "/api/notes").json()["sub"] == sub(provider, "alice")
            other = browser.request("GET", "/elsewhere")
            assert (other.status_code, other.json()["error"]) == (404, "not_found")
        finally:
            browser.close()


def test_mounted_under_a_prefix(provider: Provider, notes_api: NotesApi, bff_ports: tuple[int, int],
                                tmp_path: Path) -> None:
    """`Mount("/auth", bff)` with base_url ending in /auth: login, user and API all live under the prefix, and
    the allow-list is still matched on the path below it."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from passportoffice.bff import create_bff

    port = bff_ports[1]
    api_url: str = notes_api.url  # type: ignore[attr-defined]
    settings = bff_settings(provider, port, api_url, f"sqlite+aiosqlite:///{tmp_path / 'bff.db'}",
                            base_url=f"http://localhost:{port}/auth")
    bff = create_bff(settings)
    with serve_in_thread(Starlette(routes=[Mount("/auth", app=bff)]), port):
        running = SimpleNamespace(url=f"http://localhost:{port}/auth", settings=settings)
        browser = Browser(running)  # type: ignore[arg-type]
        try:
            browser.login("alice", password(provider, "alice"))
            assert browser.request("GET", "/api/notes").json()["sub"] == sub(provider, "alice")
            before = notes_api.count()
            for path in ("/apix", "/api/%2e%2e/admin", "/api/x%2F..%2Fadmin"):
                response = browser.http.get(running.url + path, headers={**browser.jar.header(),
                                                                          "X-Requested-With": "passportoffice"})
                assert response.status_code == 404, path
            assert notes_api.count() == before
        finally:
            browser.close()
