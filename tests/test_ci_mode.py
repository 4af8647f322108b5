"""CI mode (what `.ci/run` sets): a test that would skip for want of PostgreSQL, Node or Chromium fails instead,
so a CI machine without them cannot pass by skipping. Each case runs pytest on one such test in a subprocess,
with the service made unavailable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Loaded with `-p`: points the browser fixtures at a Chromium that does not exist.
NO_CHROMIUM_PLUGIN = '''
from pathlib import Path

def pytest_collection_finish(session):
    import tests.browser.conftest as browser
    browser.CHROMIUM = Path("/nonexistent/chromium")
'''

CASES = {
    "postgres": (
        {"PASSPORTOFFICE_REQUIRE_POSTGRES": "1",
         "PASSPORTOFFICE_TEST_POSTGRES_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/test"},
        "tests/storage/test_contract.py::test_ping_answers",
        "PostgreSQL unreachable",
    ),
    "node": (
        {"PASSPORTOFFICE_REQUIRE_NODE": "1", "PATH": str(Path(sys.executable).parent)},
        "tests/interop/test_openid_client.py::test_openid_client_completes_code_flow_userinfo_refresh_and_revocation",
        "PASSPORTOFFICE_REQUIRE_NODE=1 but node is not installed",
    ),
    "chromium": (
        {"PASSPORTOFFICE_REQUIRE_CHROMIUM": "1"},
        "tests/browser/test_login_chromium.py::test_a_wrong_password_shows_the_generic_error",
        "no Chromium at /nonexistent/chromium (PASSPORTOFFICE_REQUIRE_CHROMIUM=1)",
    ),
}


@pytest.mark.parametrize("service", list(CASES))
def test_a_missing_service_fails_the_run_in_ci_mode(service: str, tmp_path: Path) -> None:
    """With PASSPORTOFFICE_REQUIRE_<SERVICE>=1 and the service missing, the test errors (never skips)."""
    variables, test, reason = CASES[service]
    (tmp_path / "no_chromium.py").write_text(NO_CHROMIUM_PLUGIN)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PASSPORTOFFICE_REQUIRE_")}
    env |= variables | {"PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-p", "no_chromium", "-rs", "-x", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert reason in output, output
    assert "skipped" not in output.splitlines()[-1], output
