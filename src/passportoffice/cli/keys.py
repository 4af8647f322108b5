"""`passportoffice keys`: the signing keys and their rotation (RFC 7517 JWKS, published before use).

A rotated-in key is published at once but signs only after `key_activation_delay`, so every client's
cached JWKS already holds it; the keys it replaces stay published until their last tokens expire.
"""

from __future__ import annotations

from typing import Annotated

import typer

from passportoffice.cli import console, format_time, opened_provider, print_json, run, table
from passportoffice.storage.records import SigningKey

app = typer.Typer(help="Manage signing keys.", no_args_is_help=True)


def key_state(key: SigningKey, now: int) -> str:
    """active: may sign now; published: in the JWKS, signs later; retired: in the JWKS, signs no more."""
    if key.retired_at is not None and now >= key.retired_at:
        return "retired"
    if key.active_from > now:
        return "published"
    return "active"


def _key_json(key: SigningKey, now: int) -> dict[str, object]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "created_at": key.created_at,
        "active_from": key.active_from,
        "retired_at": key.retired_at,
        "expires_at": key.expires_at,
        "state": key_state(key, now),
    }


@app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to standard output.")] = False,
) -> None:
    """List the published signing keys and whether each signs now, later, or no more."""
    keys, now = run(_list())
    if as_json:
        print_json([_key_json(key, now) for key in keys])
        return
    if not keys:
        typer.echo("no signing keys yet: they are created by the first `serve` or `keys rotate`", err=True)
        return
    rows = table("kid", "alg", "state", "created", "active from", "retired at", "expires at")
    for key in keys:
        rows.add_row(
            key.kid,
            key.alg,
            key_state(key, now),
            format_time(key.created_at),
            format_time(key.active_from),
            format_time(key.retired_at),
            format_time(key.expires_at),
        )
    console.print(rows)


async def _list() -> tuple[list[SigningKey], int]:
    async with opened_provider() as provider:
        now = provider.now()
        return list(await provider.storage.list_keys(now)), now


@app.command("rotate")
def rotate(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to standard output.")] = False,
) -> None:
    """Publish new keys now; they start signing after key_activation_delay, when the current ones retire."""
    new_keys, now = run(_rotate())
    if as_json:
        print_json([_key_json(key, now) for key in new_keys])
        return
    for key in new_keys:
        typer.echo(
            f"new {key.alg} key {key.kid}: published now, signs from {format_time(key.active_from)} "
            f"(in {key.active_from - now} s)"
        )


async def _rotate() -> tuple[list[SigningKey], int]:
    async with opened_provider() as provider:
        now = provider.now()
        # On a fresh database, first create the keys that sign until the new ones take over.
        await provider.keyring.ensure_keys(now)
        kids = set(await provider.keyring.rotate(now))
        published = provider.keyring.keys()
        return [key for key in published if key.kid in kids], now
