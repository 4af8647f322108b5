"""`passportoffice demo` (what `make run` starts): the provider with demo accounts, an app to sign in to,
and the notes API the app's access tokens are for (audience http://localhost:API_PORT, scopes notes:*).

Seeding is idempotent: what exists is left alone, so every run has the same user, clients, keys and
demo-service secret. The secret is kept in DATA_DIR/demo-service.secret (0600), because the provider
itself stores only a keyed hash of it and could not show it again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from passportoffice.bootstrap import load_settings, open_provider
from passportoffice.cli import UsageError, errors_as_messages, fail, run
from passportoffice.cli.demo_api import DEFAULT_API_PORT, notes_server
from passportoffice.logs import configure_logging
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import username_key
from passportoffice.settings import Settings
from passportoffice.storage.records import Client, User

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "demo", "seed"]

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-123"
APP_CLIENT_ID = "demo-app"
SERVICE_CLIENT_ID = "demo-service"
NOTES_SCOPES = ("notes:read", "notes:write")
SECRET_FILE = "demo-service.secret"


def demo(
    port: Annotated[int | None, typer.Option("--port", help="Provider port (default 9000).")] = None,
    app_port: Annotated[int, typer.Option("--app-port", help="Demo app port.", min=1, max=65535)] = 9002,
    api_port: Annotated[
        int, typer.Option("--api-port", help="Demo notes API port.", min=1, max=65535)
    ] = DEFAULT_API_PORT,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Default: .passportoffice")] = None,
) -> None:
    """Run the provider with a demo user and demo clients, and a demo app to sign in to."""
    with errors_as_messages():
        settings = load_settings(port=port, data_dir=data_dir)
        # The demo clients are registered for localhost, so the issuer is localhost on the chosen port.
        settings = load_settings(port=settings.port, data_dir=data_dir, issuer=f"http://localhost:{settings.port}")
        if len({settings.port, app_port, api_port}) != 3:
            raise UsageError("--port, --app-port and --api-port must differ")
    try:
        started = run(_demo(settings, app_port, api_port))
    except KeyboardInterrupt:  # Ctrl-C before the servers took over the signal
        return
    if not started:
        fail(f"the demo did not start on ports {settings.port}, {app_port} and {api_port} (see the log above)")


async def seed(provider: Provider, app_url: str, api_url: str) -> Path:
    """Add whatever of the demo user and clients is missing; returns the demo-service secret file.

    Tokens for both clients are meant for the notes API at `api_url` (their default audience, RFC 8707):
    the app's carry the user's notes scopes, the service's notes:read only.
    """
    storage, now = provider.storage, provider.now()
    if await storage.find_user(username_key(DEMO_USERNAME)) is None:
        password_hash = await provider.passwords.hash_async(DEMO_PASSWORD)
        await storage.add_user(
            User(
                id=new_token(16),
                username=DEMO_USERNAME,
                username_key=username_key(DEMO_USERNAME),
                email="demo@example.com",
                email_verified=True,
                name="Demo Traveler",
                password_hash=password_hash,
                disabled=False,
                created_at=now,
            )
        )
    app = Client(
        client_id=APP_CLIENT_ID,
        token_endpoint_auth_method="none",
        redirect_uris=(f"{app_url}/callback",),
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "profile", "email", "offline_access", *NOTES_SCOPES),
        post_logout_redirect_uris=(f"{app_url}/",),
        origins=(app_url,),
        first_party=True,
        audience=api_url,
        created_at=now,
    )
    existing = await storage.get_client(APP_CLIENT_ID)
    if existing is None or replace(existing, created_at=now) != app:  # new, or another --app-port than before
        await storage.remove_client(APP_CLIENT_ID, provider.now())
        await storage.add_client(app)
    secret_file = provider.settings.data_dir / SECRET_FILE
    service = await storage.get_client(SERVICE_CLIENT_ID)
    if service is None or not secret_file.exists():
        # 256 random bits; written before the client is stored, so a crash in between only costs a new secret.
        secret = new_token(32)
        _write_private(secret_file, secret + "\n")
        service = None
        secret_hash: str | None = provider.hash(secret)
    else:
        secret_hash = service.secret_hash
    wanted = Client(
        client_id=SERVICE_CLIENT_ID,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=(),
        grant_types=("client_credentials",),
        scopes=("notes:read",),
        audience=api_url,
        secret_hash=secret_hash,
        created_at=now,
    )
    if service is None or replace(service, created_at=now) != wanted:  # new secret, or another --api-port
        await storage.remove_client(SERVICE_CLIENT_ID, provider.now())
        await storage.add_client(wanted)
    return secret_file


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(text)
    os.replace(temporary, path)


async def _demo(settings: Settings, app_port: int, api_port: int) -> bool:
    from passportoffice.cli.servers import serve_together, server
    from passportoffice.demo import create_relying_party
    from passportoffice.web.app import create_app

    configure_logging(settings.log_format, settings.log_level)
    # httpx logs every URL the demo app requests at INFO; query strings are kept out of our logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    provider = await open_provider(settings, migrate=True)
    try:
        app_url, api_url = f"http://localhost:{app_port}", f"http://localhost:{api_port}"
        secret_file = await seed(provider, app_url, api_url)
        relying_party = create_relying_party(settings.issuer, APP_CLIENT_ID, f"{app_url}/callback")
        servers = [
            server(create_app(provider), settings.host, settings.port),
            server(relying_party, settings.host, app_port),
            notes_server(settings.issuer, api_url, app_url, settings.host, api_port),
        ]
        issuer = settings.issuer
        typer.echo(
            f"\n  Open the demo app:  {app_url}\n"
            f"  Sign in as:         {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
            f"  Provider (issuer):  {issuer}\n"
            f"  Discovery:          {issuer}/.well-known/openid-configuration\n"
            f"  Notes API:          {api_url}/notes (audience {api_url}, scopes notes:read notes:write)\n"
            f"  Service client:     {SERVICE_CLIENT_ID}, secret in {secret_file}\n"
            f"    curl -u {SERVICE_CLIENT_ID}:$(cat {secret_file}) -d grant_type=client_credentials {issuer}/token\n"
            "  Ctrl-C stops them all.\n"
        )
        return await serve_together(servers)
    finally:
        await provider.storage.close()
