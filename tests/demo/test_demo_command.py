"""`passportoffice demo` as a process: what it serves, how it seeds, how it stops.

What a person does in the SPA is proven in real Chromium, in tests/browser/test_spa.py.
"""

from __future__ import annotations

import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from passportoffice.cli.demo import APP_CLIENT_ID
from tests.demo import Demo, command, demo_env, free_ports, running_demo, stop


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo")
    with running_demo(root / "data", root / "logs") as demo:
        yield demo


def test_the_spa_is_served_with_its_configuration_and_a_strict_csp(demo: Demo) -> None:
    """The SPA page, its public configuration, the SDK from js/src, all under a CSP without inline code."""
    page = httpx.get(f"{demo.app}/")
    assert page.status_code == 200
    assert '<script type="module" src="/app/app.js"></script>' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert f"connect-src 'self' {demo.provider} " in csp
    config = httpx.get(f"{demo.app}/config.json").json()
    assert config["issuer"] == demo.provider
    assert config["clientId"] == APP_CLIENT_ID
    assert config["redirectUri"] == f"{demo.app}/callback"
    sdk = httpx.get(f"{demo.app}/sdk/auth.js")
    assert sdk.status_code == 200
    assert sdk.text == (Path(__file__).resolve().parents[2] / "js" / "src" / "auth.js").read_text()  # the same file
    assert httpx.get(f"{demo.app}/callback").text == page.text


def test_the_spa_client_is_registered_for_the_refresh_cookie(demo: Demo) -> None:
    """demo-spa gets no refresh token in a body: its refresh endpoint answers its origin, and nothing else."""
    preflight = httpx.options(
        f"{demo.provider}/token/refresh",
        headers={"Origin": demo.app, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "x-requested-with"},
    )
    assert preflight.headers["access-control-allow-origin"] == demo.app
    assert preflight.headers["access-control-allow-credentials"] == "true"
    no_cookie = httpx.post(
        f"{demo.provider}/token/refresh",
        data={"client_id": APP_CLIENT_ID},
        headers={"Origin": demo.app, "X-Requested-With": "passportoffice"},
    )
    assert no_cookie.status_code == 400
    assert no_cookie.json()["error"] == "invalid_grant"


def test_seeding_is_idempotent_and_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    """A second run on the same data dir keeps the demo-service secret and the demo user; Ctrl-C exits 0."""
    data_dir = tmp_path / "data"
    with running_demo(data_dir, tmp_path / "logs") as first:
        secret_file = data_dir / "demo-service.secret"
        secret = secret_file.read_text().strip()
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert "demo / demo-password-123" in first.stdout.read_text()
        assert str(secret_file) in first.stdout.read_text()
        assert stop(first) == 0
    assert "Traceback" not in first.output()
    with running_demo(data_dir, tmp_path / "logs") as second:
        assert secret_file.read_text().strip() == secret
        token = httpx.post(
            f"{second.provider}/token", data={"grant_type": "client_credentials"}, auth=("demo-service", secret)
        )
        assert token.status_code == 200, token.text
        assert token.json()["scope"] == "notes:read"
        assert httpx.get(f"{second.app}/config.json").json()["clientId"] == APP_CLIENT_ID
    assert second.process.returncode == 0
    assert "Traceback" not in second.output()


def test_a_busy_port_stops_the_demo_with_an_error_line(tmp_path: Path) -> None:
    """When one server cannot start, the other one stops too, and the command ends with one error line."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        app_port = busy.getsockname()[1]
        port, api_port, bff_port = free_ports(3)
        result = subprocess.run(
            [*command(), "demo", "--port", str(port), "--app-port", str(app_port), "--api-port", str(api_port),
             "--bff-port", str(bff_port), "--data-dir", str(tmp_path)],
            env=demo_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: the demo did not start on ports ")
