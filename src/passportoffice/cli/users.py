"""`passportoffice users`: add, list, disable and enable the accounts that log in at the provider."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from passportoffice.cli import console, fail, format_time, opened_provider, print_json, run, table
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.identity import username_key
from passportoffice.provider.passwords import MAX_PASSWORD_BYTES
from passportoffice.storage.interface import DuplicateError
from passportoffice.storage.records import User

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)

_MAX_FIELD_LENGTH = 255
_MAX_EMAIL_LENGTH = 320


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Stored as typed; matched case- and width-insensitively.")],
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    email_verified: Annotated[
        bool, typer.Option("--email-verified", help="Mark the e-mail address as verified.")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new user as JSON to standard output.")] = False,
) -> None:
    """Add a user; the password is prompted for twice (hidden) unless --password-stdin is given."""
    for what, value in (("the username", username), ("the e-mail address", email), ("the name", name)):
        _check_utf8(what, value)
    key = username_key(username)
    if not key or len(username) > _MAX_FIELD_LENGTH:
        fail(f"the username must be 1 to {_MAX_FIELD_LENGTH} characters", 2)
    if email is not None and ("@" not in email or len(email) > _MAX_EMAIL_LENGTH or email != email.strip()):
        fail(f"not an e-mail address: {email!r}", 2)
    if name is not None and len(name) > _MAX_FIELD_LENGTH:
        fail(f"the name must be at most {_MAX_FIELD_LENGTH} characters", 2)
    password = _read_password(password_stdin)
    user = run(_add(username, key, email, name, email_verified, password))
    if as_json:
        print_json(_user_json(user))
    else:
        typer.echo(f"added user {username}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, as `docker login --password-stdin` reads it; only the line ending is stripped. Read as
        # bytes: the terminal's encoding would smuggle undecodable bytes in as surrogates.
        try:
            password = sys.stdin.buffer.read().decode("utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError:
            fail("the password on standard input must be UTF-8 text", 2)
        if "\n" in password:
            fail("the password on standard input must be a single line", 2)
    else:
        if not _interactive():
            # getpass would fall back to echoing, warn twice and then abort at the end of the input.
            fail("standard input is not a terminal: give the password with --password-stdin", 2)
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        _check_utf8("the password", password)
    if not password:
        fail("the password must not be empty", 2)
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        # Login refuses longer passwords before hashing them (K43), so this one could never be used.
        fail(f"the password must be at most {MAX_PASSWORD_BYTES} bytes", 2)
    return password


def _interactive() -> bool:
    return sys.stdin.isatty()


def _check_utf8(what: str, value: str | None) -> None:
    """Arguments with bytes that are not UTF-8 arrive as lone surrogates, which no database can store."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        fail(f"{what} must be UTF-8 text", 2)


async def _add(
    username: str, key: str, email: str | None, name: str | None, email_verified: bool, password: str
) -> User:
    async with opened_provider() as provider:
        if await provider.storage.find_user(key) is not None:
            raise DuplicateError(f"user {username!r}")
        user = User(
            id=new_token(16),
            username=username,
            username_key=key,
            email=email,
            email_verified=email_verified,
            name=name,
            password_hash=provider.passwords.hash(password),
            disabled=False,
            created_at=provider.now(),
        )
        try:
            await provider.storage.add_user(user)
        except DuplicateError:
            # The username was free a moment ago, so it is the (unique) e-mail address, or a race.
            what = f"e-mail address {email!r}" if email else f"user {username!r}"
            raise DuplicateError(f"a user with {what}") from None
        return user


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to standard output.")] = False,
) -> None:
    """List users (never their password hashes)."""
    users = run(_list())
    if as_json:
        print_json([_user_json(user) for user in users])
        return
    rows = table("username", "email", "verified", "name", "disabled", "created")
    for user in users:
        rows.add_row(
            user.username,
            user.email or "-",
            "yes" if user.email_verified else "no",
            user.name or "-",
            "yes" if user.disabled else "no",
            format_time(user.created_at),
        )
    console.print(rows)


async def _list() -> list[User]:
    async with opened_provider() as provider:
        return list(await provider.storage.list_users())


@app.command("disable")
def disable(username: str) -> None:
    """Disable a user: they can no longer log in."""
    typer.echo(f"disabled user {_set_disabled(username, True).username}")


@app.command("enable")
def enable(username: str) -> None:
    """Enable a disabled user again."""
    typer.echo(f"enabled user {_set_disabled(username, False).username}")


def _set_disabled(username: str, disabled: bool) -> User:
    user = run(_store_disabled(username_key(username), disabled))
    if user is None:
        fail(f"no user {username!r}")
    return user


async def _store_disabled(key: str, disabled: bool) -> User | None:
    async with opened_provider() as provider:
        return await provider.storage.set_user_disabled(key, disabled)


def _user_json(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "disabled": user.disabled,
        "created_at": user.created_at,
    }
