"""`passportoffice serve` and `passportoffice migrate`: run the provider and keep its schema current."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from passportoffice.bootstrap import load_settings, migrate_database, open_provider
from passportoffice.cli import errors_as_messages, fail, run
from passportoffice.cli.workers import serve_workers
from passportoffice.logs import configure_logging
from passportoffice.provider.context import Provider
from passportoffice.provider.refresh_cookies import cross_site_origins
from passportoffice.settings import Settings

__all__ = ["migrate", "serve"]

log = logging.getLogger("passportoffice")

DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="SQLAlchemy URL (default: SQLite in data_dir).")
]


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="Issuer URL (default: http://localhost:PORT).")
    ] = None,
    database: DatabaseOption = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Server processes sharing the port (default 1).")
    ] = None,
) -> None:
    """Run the provider. On SQLite pending migrations are applied; on PostgreSQL they must be run first."""
    with errors_as_messages():
        settings = load_settings(host=host, port=port, issuer=issuer, database_url=database, workers=workers)
        if "issuer" not in settings.model_fields_set and "port" in settings.model_fields_set:
            # The default issuer names the default port; one on another port must name that port,
            # or discovery would point clients at a server that is not there.
            settings = load_settings(
                host=host, port=port, issuer=f"http://localhost:{settings.port}", database_url=database, workers=workers
            )
    try:
        started = run(_prepare(settings)) and serve_workers(settings) if settings.workers > 1 else run(_serve(settings))
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signal
        return
    if not started:
        fail(f"the server did not start on {settings.host}:{settings.port} (see the log above)")


async def _serve(settings: Settings) -> bool:
    # The web stack and the server load only for `serve`, not for every administrative command.
    from passportoffice.cli.servers import serve_together, server
    from passportoffice.web.app import create_app

    configure_logging(settings.log_format, settings.log_level)
    provider = await open_provider(settings, migrate=settings.is_sqlite)
    try:
        await _warn_about_cross_site_cookie_clients(provider)
        servers = [server(create_app(provider), settings.host, settings.port)]
        _announce(settings)
        return await serve_together(servers)
    finally:
        await provider.storage.close()


async def _prepare(settings: Settings) -> bool:
    """Before the workers start: what each would race to do (migrations, first keys) is done once here."""
    configure_logging(settings.log_format, settings.log_level)
    provider = await open_provider(settings, migrate=settings.is_sqlite)
    try:
        await provider.keyring.ensure_keys(provider.now())
        await _warn_about_cross_site_cookie_clients(provider)
    finally:
        await provider.storage.close()
    _announce(settings)
    return True


def _announce(settings: Settings) -> None:
    typer.echo(f"issuer:    {settings.issuer}")
    typer.echo(f"discovery: {settings.issuer}/.well-known/openid-configuration")
    typer.echo(f"address:   http://{settings.host}:{settings.port}")


async def _warn_about_cross_site_cookie_clients(provider: Provider) -> None:
    """The same-site rule (README): a refresh cookie from another site is a third-party cookie, blocked."""
    issuer = provider.settings.issuer
    for client_id, origin in cross_site_origins(issuer, await provider.storage.list_clients()):
        log.warning(
            "refresh-cookie client %s: origin %s is not on the same site as the issuer %s, so browsers will "
            "block its refresh cookie as a third-party cookie; serve the provider from the app's site "
            "(e.g. auth.example.com for app.example.com) or use the BFF",
            client_id,
            origin,
            issuer,
        )


def migrate(database: DatabaseOption = None) -> None:
    """Apply pending database migrations (run once before starting new versions on PostgreSQL)."""
    with errors_as_messages():
        settings = load_settings(database_url=database)
    run(migrate_database(settings))
    typer.echo("database schema is up to date")
