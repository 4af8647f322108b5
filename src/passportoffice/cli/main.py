"""The `passportoffice` command: the command groups assembled into one typer app."""

from __future__ import annotations

import typer

from passportoffice.cli import OneLineUsageErrors, clients, demo, demo_api, keys, serve, users

__all__ = ["app"]

app = typer.Typer(
    name="passportoffice",
    help="An OpenID Connect provider. Settings: flags, then PASSPORTOFFICE_* variables, then the settings file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineUsageErrors,
)
app.command("serve")(serve.serve)
app.command("migrate")(serve.migrate)
app.command("demo")(demo.demo)
app.command("demo-api")(demo_api.demo_api)
app.add_typer(users.app, name="users")
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
