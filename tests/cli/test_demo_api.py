"""`passportoffice demo-api`: every bad value ends in one `error:` line and a non-zero exit, never a traceback.

The API itself, run by this command against a real provider, is tested in tests/demo/test_notes_api_e2e.py.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Invoke, assert_one_line_error

GOOD = {"--issuer": "http://localhost:9000", "--audience": "http://localhost:9001"}


@pytest.fixture
def listening_socket() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def arguments(**changes: str | None) -> list[str]:
    options = {**GOOD, **{"--" + name.replace("_", "-"): value for name, value in changes.items()}}
    return [part for option, value in options.items() if value is not None for part in (option, value)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": None}, "--issuer and --audience are required"),
        ({"audience": None}, "--issuer and --audience are required"),
        ({"issuer": "localhost:9000"}, "--issuer must be an http(s) URL without query, fragment or credentials"),
        ({"issuer": "ftp://idp.example"}, "--issuer must be an http(s) URL without query, fragment or credentials"),
        ({"issuer": "https://user@idp.example"},
         "--issuer must be an http(s) URL without query, fragment or credentials"),
        ({"audience": " "}, "--audience must be this API's audience value, as the provider puts it in tokens"),
        ({"port": "abc"}, "--port must be a port number from 1 to 65535"),
        ({"port": "0"}, "--port must be a port number from 1 to 65535"),
        ({"port": "65536"}, "--port must be a port number from 1 to 65535"),
        ({"origin": "http://localhost:9002/"},
         "--origin must be an origin like http://localhost:9002 (no path, no trailing slash)"),
        ({"origin": "localhost:9002"},
         "--origin must be an origin like http://localhost:9002 (no path, no trailing slash)"),
        ({"origin": "http://localhost:99999"},
         "--origin must be an origin like http://localhost:9002 (no path, no trailing slash)"),
        ({"origin": "*"}, "--origin must be an origin like http://localhost:9002 (no path, no trailing slash)"),
    ],
)
def test_bad_values_end_in_one_error_line(cli: Invoke, changes: dict[str, str | None], message: str) -> None:
    """Each bad or missing value: exit code 2 and exactly one error line naming the option."""
    assert assert_one_line_error(cli("demo-api", *arguments(**changes)), 2) == message


def test_a_busy_port_ends_with_an_error_line(cli: Invoke, listening_socket: int) -> None:
    """A port already in use: exit code 1 and, last, one error line; no traceback."""
    result = cli("demo-api", *arguments(port=str(listening_socket)))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == f"error: the demo API did not start on 127.0.0.1:{listening_socket} " \
        "(see the log above)"


def test_demo_ports_must_differ(cli: Invoke) -> None:
    """`demo` refuses one port for two of its servers before starting anything."""
    result = cli("demo", "--port", "19000", "--app-port", "19001", "--api-port", "19000")
    assert assert_one_line_error(result, 2) == "--port, --app-port and --api-port must differ"


def test_without_fastapi_the_command_says_what_to_install(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI is the `demo` extra, not a provider dependency: without it, one line says how to get it."""
    monkeypatch.delitem(sys.modules, "passportoffice.demo.notes_api", raising=False)
    monkeypatch.setitem(sys.modules, "fastapi", None)  # what `import fastapi` finds when it is not installed
    result = cli("demo-api", *arguments())
    assert assert_one_line_error(result, 2) == "the demo API needs fastapi: pip install 'passportoffice[demo]'"
