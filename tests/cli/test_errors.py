"""Bad input to any command is one `error: ...` line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from passportoffice.cli.main import app
from tests.cli.conftest import Invoke, assert_one_line_error

SECRET = "s" * 40
UNREACHABLE = "postgresql+asyncpg://po@127.0.0.1:1/po"


def _commands() -> list[list[str]]:
    """Every leaf command of the CLI, as the words that name it."""
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if not children:
            found.append(path)
            return
        for name, child in sorted(children.items()):
            walk(child, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = _commands()
# The commands that open the configured database (`demo` and `demo-api` run on their own settings).
DATABASE_COMMANDS = [
    ["migrate"],
    ["serve"],
    ["users", "add", "someone", "--password-stdin"],
    ["users", "list"],
    ["users", "disable", "someone"],
    ["users", "enable", "someone"],
    ["clients", "add", "app", "--public", "--redirect-uri", "https://app.example/cb"],
    ["clients", "list"],
    ["clients", "remove", "app"],
    ["keys", "list"],
    ["keys", "rotate"],
]


def test_every_command_is_covered_here() -> None:
    """The sweeps below name every command but the demo ones; a new command must be added to them."""
    assert sorted(" ".join(words) for words in COMMANDS) == sorted(
        [" ".join(command[:2] if command[0] in ("users", "clients", "keys") else command[:1])
         for command in DATABASE_COMMANDS] + ["demo", "demo-api"]
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_option_is_one_line_with_exit_code_2(cli: Invoke, command: list[str]) -> None:
    """click's own argument errors are one line naming the help to read, not a multi-line usage box."""
    message = assert_one_line_error(cli(*command, "--no-such-option"), 2)
    assert message == f"No such option: --no-such-option (see `passportoffice {' '.join(command)} --help`)"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["serve", "--port", "not-a-number"], "Invalid value for '--port'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["users", "add"], "Missing argument 'username'"),
        (["clients", "add", "app", "--grant"], "Option '--grant' requires an argument"),
        (["keys", "list", "extra"], "Got unexpected extra argument(s) (extra)"),
    ],
    ids=["bad-int", "unknown-command", "missing-argument", "missing-option-value", "extra-argument"],
)
def test_click_argument_errors_are_one_line(cli: Invoke, args: list[str], expected: str) -> None:
    """Wrong types, unknown commands, missing or extra arguments: one line, exit code 2."""
    assert assert_one_line_error(cli(*args), 2).startswith(expected)


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line_for_every_command(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """Every command that needs the database says in one line that it cannot reach it (exit code 1)."""
    monkeypatch.setenv("PASSPORTOFFICE_DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("PASSPORTOFFICE_SECRET_KEY", SECRET)
    message = assert_one_line_error(cli(*command, input="pw\n"), 1)
    assert message.startswith("cannot use the database at postgresql+asyncpg://po@127.0.0.1:1/po: ")


@pytest.mark.parametrize(
    "url", ["postgresql://po@127.0.0.1/po", "mysql://po@127.0.0.1/po", "sqlite:///po.db", "nonsense"]
)
def test_a_database_url_without_a_supported_driver_is_one_line(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """Only the async drivers that are installed are accepted; any other URL is named as a bad setting."""
    monkeypatch.setenv("PASSPORTOFFICE_DATABASE_URL", url)
    message = assert_one_line_error(cli("users", "list"), 1)
    assert message == (
        "invalid setting database_url (PASSPORTOFFICE_DATABASE_URL): "
        "database_url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    )


def test_a_password_on_stdin_that_is_not_utf8_is_one_line(cli: Invoke) -> None:
    """Bytes that are not UTF-8 on standard input are refused before anything is stored."""
    result = cli("users", "add", "zed", "--password-stdin", input=b"\xff\xfepassword\n")  # type: ignore[arg-type]
    assert assert_one_line_error(result, 2) == "the password on standard input must be UTF-8 text"
    assert cli("users", "list", "--json").stdout == "[]\n"


@pytest.mark.parametrize("option", [[], ["--email", "\udcffx@example.com"], ["--name", "Z\udcffd"]])
def test_arguments_that_are_not_utf8_are_one_line(cli: Invoke, option: list[str]) -> None:
    """An argument with undecodable bytes (a lone surrogate, as Python passes them on) is a usage error."""
    username = "zed" if option else "z\udcffd"
    result = cli("users", "add", username, *option, "--password-stdin", input="pw\n")
    assert assert_one_line_error(result, 2).endswith("must be UTF-8 text")


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("passportoffice")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from passportoffice.cli.main import app; app()"]


def test_the_console_script_prints_one_line_for_bad_input(data_dir: Path) -> None:
    """The installed command, run for real (its own terminal detection, its own stdin), never prints a traceback."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PASSPORTOFFICE_")}
    env["PASSPORTOFFICE_DATA_DIR"] = str(data_dir)
    cases = [
        (["keys", "rotate", "--bogus"], b"", 2),
        (["users", "add", "zed", "--password-stdin"], b"\xff\xfepassword\n", 2),
        (["users", "list"], b"", 1),
    ]
    env_cases = [{}, {}, {"PASSPORTOFFICE_DATABASE_URL": "mysql://po@127.0.0.1/po"}]
    for (args, stdin, code), extra in zip(cases, env_cases, strict=True):
        result = subprocess.run(
            [*_console_script(), *args], input=stdin, env=env | extra, capture_output=True, timeout=60
        )
        stderr = result.stderr.decode()
        assert result.returncode == code, stderr
        assert "Traceback" not in stderr
        assert len(stderr.splitlines()) == 1 and stderr.startswith("error: "), stderr
        assert result.stdout == b""
