"""README commands that register clients run as written (docs and examples cannot drift)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.cli.conftest import Invoke

README = Path(__file__).resolve().parents[2] / "README.md"


def _client_commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("passportoffice clients add ")]


def test_readme_client_registrations_run(cli: Invoke) -> None:
    """Every `passportoffice clients add` line of the README succeeds; the refresh-cookie SPA is in cookie mode."""
    commands = _client_commands()
    assert any("--refresh-cookie" in command for command in commands)
    for command in commands:
        result = cli(*command)
        assert result.exit_code == 0, (command, result.output)
    listed = {entry["client_id"]: entry for entry in json.loads(cli("clients", "list", "--json").stdout)}
    cookie_clients = [client_id for client_id, entry in listed.items() if entry["refresh_cookie"]]
    assert cookie_clients == ["my-cookie-spa"]
