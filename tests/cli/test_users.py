"""`passportoffice users`: add, list, disable, enable."""

from __future__ import annotations

import json

import pytest

from passportoffice.cli import users
from passportoffice.provider.context import Provider
from passportoffice.storage.records import User
from tests.cli.conftest import Invoke, assert_one_line_error, stored


def _user(username_key: str) -> User:
    async def read(provider: Provider) -> User:
        user = await provider.storage.find_user(username_key)
        assert user is not None
        return user

    return stored(read)


def _password_matches(user: User, password: str) -> bool:
    async def read(provider: Provider) -> bool:
        return await provider.passwords.verify(user.password_hash, password)

    return stored(read)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input is a terminal, as when an operator types the command (CliRunner's stdin is not)."""
    monkeypatch.setattr(users, "_interactive", lambda: True)


def test_users_add_prompts_twice_and_list_shows_the_user(cli: Invoke, terminal: None) -> None:
    """Without --password-stdin the password is asked for twice; the new user is then listed."""
    result = cli("users", "add", "Alice", "--email", "alice@example.com", "--name", "Alice A", input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("Password") == 1  # typer writes prompts to stdout; input stays hidden
    assert "s3cret" not in result.output
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [(u["username"], u["email"], u["name"], u["email_verified"], u["disabled"]) for u in listed] == [
        ("Alice", "alice@example.com", "Alice A", False, False)
    ]
    assert "password_hash" not in listed[0]
    assert _password_matches(_user("alice"), "s3cret")


def test_users_add_refuses_mismatched_confirmation(cli: Invoke, terminal: None) -> None:
    """A confirmation that differs is asked for again; nothing is stored until both agree."""
    result = cli("users", "add", "bob", input="one\ntwo\nthree\nthree\n")
    assert result.exit_code == 0, result.output
    assert _password_matches(_user("bob"), "three")


def test_users_add_reads_the_password_from_stdin(cli: Invoke) -> None:
    """--password-stdin takes one line from standard input, without its line ending, and hashes it."""
    result = cli("users", "add", "carol", "--password-stdin", "--email-verified", "--email", "c@example.com",
                 input="correct horse battery staple\n")
    assert result.exit_code == 0, result.output
    user = _user("carol")
    assert user.email_verified is True
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert _password_matches(user, "correct horse battery staple")


def test_users_add_json_prints_only_the_new_user(cli: Invoke) -> None:
    """--json prints the stored user (id included, no password hash) and nothing else on stdout."""
    result = cli("users", "add", "erin", "--email", "erin@example.com", "--password-stdin", "--json",
                 input="erin-password\n")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["id"] == _user("erin").id
    assert (printed["username"], printed["email"], printed["disabled"]) == ("erin", "erin@example.com", False)
    assert "password_hash" not in printed and "erin-password" not in result.stdout


def test_users_add_refuses_an_empty_password_from_stdin(cli: Invoke) -> None:
    """An empty password is a usage error, not an account nobody can log in to."""
    assert_one_line_error(cli("users", "add", "dave", "--password-stdin", input="\n"), 2)


def test_users_add_duplicate_is_a_one_line_error(cli: Invoke) -> None:
    """A username that folds to an existing one (case, width) is refused with exit code 1."""
    assert cli("users", "add", "alice", "--password-stdin", input="pw-one\n").exit_code == 0
    message = assert_one_line_error(cli("users", "add", "ALICE", "--password-stdin", input="pw-two\n"), 1)
    assert message == "user 'ALICE' already exists"


def test_users_add_duplicate_email_is_a_one_line_error(cli: Invoke) -> None:
    """Two accounts cannot share an e-mail address."""
    assert cli("users", "add", "erin", "--email", "e@example.com", "--password-stdin", input="pw\n").exit_code == 0
    result = cli("users", "add", "frank", "--email", "e@example.com", "--password-stdin", input="pw\n")
    assert assert_one_line_error(result, 1) == "a user with e-mail address 'e@example.com' already exists"


def test_users_disable_and_enable(cli: Invoke) -> None:
    """disable marks the account disabled (found case-insensitively); enable reverses it."""
    cli("users", "add", "Grace", "--password-stdin", input="pw\n")
    result = cli("users", "disable", "GRACE")
    assert result.exit_code == 0
    assert result.stdout == "disabled user Grace\n"
    assert _user("grace").disabled is True
    assert cli("users", "enable", "grace").exit_code == 0
    assert _user("grace").disabled is False


def test_users_disable_unknown_user_is_a_one_line_error(cli: Invoke) -> None:
    """Disabling a user who does not exist fails with exit code 1."""
    assert assert_one_line_error(cli("users", "disable", "nobody"), 1) == "no user 'nobody'"


def test_users_list_human_output_is_a_table(cli: Invoke) -> None:
    """Without --json the list is a table naming each user."""
    cli("users", "add", "heidi", "--password-stdin", input="pw\n")
    result = cli("users", "list")
    assert result.exit_code == 0
    assert "heidi" in result.stdout and "username" in result.stdout


def test_k38_a_username_that_normalises_to_an_existing_one_is_a_duplicate(cli: Invoke) -> None:
    """K38: `quac` + KELVIN SIGN, or `quack` in fullwidth letters, folds (NFKC + casefold) to the existing `quack`."""
    assert cli("users", "add", "quack", "--password-stdin", input="pw-one\n").exit_code == 0
    for look_alike in ("quac\u212a", "\uff51\uff55\uff41\uff43\uff4b"):
        result = cli("users", "add", look_alike, "--password-stdin", input="pw-two\n")
        assert assert_one_line_error(result, 1) == f"user {look_alike!r} already exists"
    assert [user["username"] for user in json.loads(cli("users", "list", "--json").stdout)] == ["quack"]
    assert _password_matches(_user("quack"), "pw-one")


def test_k38_an_email_that_normalises_to_an_existing_one_is_a_duplicate(cli: Invoke) -> None:
    """K38: an address that differs from a registered one only by look-alikes cannot open a second account."""
    assert cli("users", "add", "quack", "--email", "quack@example.com", "--password-stdin", input="pw\n").exit_code == 0
    for look_alike in ("quac\u212a@example.com", "\uff51uack@example.com"):
        result = cli("users", "add", "mallory", "--email", look_alike, "--password-stdin", input="pw\n")
        assert assert_one_line_error(result, 1) == f"a user with e-mail address {look_alike!r} already exists"
    assert [user["email"] for user in json.loads(cli("users", "list", "--json").stdout)] == ["quack@example.com"]


def test_users_add_without_a_terminal_or_password_stdin_is_one_line(cli: Invoke) -> None:
    """Piped input without --password-stdin is a usage error, not an echoing prompt that aborts."""
    result = cli("users", "add", "bob", input="pw\npw\n")
    message = assert_one_line_error(result, 2)
    assert message == "standard input is not a terminal: give the password with --password-stdin"
    assert cli("users", "list", "--json").stdout == "[]\n"
