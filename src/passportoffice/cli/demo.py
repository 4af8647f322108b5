"""`passportoffice demo` (what `make run` starts): the provider with demo accounts, the demo SPA, and the
notes API the SPA's access tokens are for (audience http://localhost:API_PORT, scopes notes:*).

The SPA (demo/spa, served by demo/spa_server.py) uses the browser SDK from js/ in refresh-cookie mode:
its client is public, registered as with `clients add demo-spa --public --refresh-cookie --origin APP_URL`.
The same SPA is also served through the BFF (passportoffice.bff) on BFF_PORT: there the BFF is the
client (`demo-bff`, confidential, with back-channel logout), and the browser holds only its session cookie.

Seeding is idempotent: what exists is left alone, so every run has the same user, clients, keys and
demo-service secret. The secret is kept in DATA_DIR/demo-service.secret (0600), because the provider
itself stores only a keyed hash of it and could not show it again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "demo", "seed", "seed_bff"]

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-123"
APP_CLIENT_ID = "demo-spa"
BFF_CLIENT_ID = "demo-bff"
DEFAULT_BFF_PORT = 9003
SERVICE_CLIENT_ID = "demo-service"
NOTES_SCOPES = ("notes:read", "notes:write")
# What the SPA asks for: who the user is, and the notes API. No offline_access: the SPA's refresh
# cookie lives no longer than the person's sign-in at the provider.
APP_SCOPE = " ".join(("openid", "profile", "email", *NOTES_SCOPES))
SECRET_FILE = "demo-service.secret"
BFF_SECRET_FILE = "demo-bff.secret"  # the demo-bff client's secret, for the BFF to authenticate with
BFF_SESSION_KEY_FILE = "demo-bff-session.key"  # the BFF's secret_key (session hashes, token encryption)


def demo(
    port: Annotated[int | None, typer.Option("--port", help="Provider port (default 9000).")] = None,
    app_port: Annotated[int, typer.Option("--app-port", help="Demo SPA port.", min=1, max=65535)] = 9002,
    api_port: Annotated[
        int, typer.Option("--api-port", help="Demo notes API port.", min=1, max=65535)
    ] = DEFAULT_API_PORT,
    bff_port: Annotated[
        int, typer.Option("--bff-port", help="The demo SPA through the BFF.", min=1, max=65535)
    ] = DEFAULT_BFF_PORT,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Default: .passportoffice")] = None,
) -> None:
    """Run the provider with a demo user and demo clients, the demo SPA (directly and through the BFF) and
    the notes API it calls."""
    with errors_as_messages():
        settings = load_settings(port=port, data_dir=data_dir)
        # The demo clients are registered for localhost, so the issuer is localhost on the chosen port.
        settings = load_settings(port=settings.port, data_dir=data_dir, issuer=f"http://localhost:{settings.port}")
        if len({settings.port, app_port, api_port, bff_port}) != 4:
            raise UsageError("--port, --app-port, --api-port and --bff-port must differ")
    try:
        started = run(_demo(settings, app_port, api_port, bff_port))
    except KeyboardInterrupt:  # Ctrl-C before the servers took over the signal
        return
    if not started:
        fail(
            f"the demo did not start on ports {settings.port}, {app_port}, {api_port} and {bff_port} "
            "(see the log above)"
        )


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
    # What `clients add demo-spa --public --refresh-cookie --origin APP_URL ...` registers.
    app = Client(
        client_id=APP_CLIENT_ID,
        token_endpoint_auth_method="none",
        redirect_uris=(f"{app_url}/callback",),
        grant_types=("authorization_code", "refresh_token"),
        scopes=tuple(APP_SCOPE.split()),
        post_logout_redirect_uris=(f"{app_url}/",),
        origins=(app_url,),
        first_party=True,
        refresh_cookie=True,
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


async def seed_bff(provider: Provider, bff_url: str, api_url: str) -> tuple[str, str]:
    """The demo-bff client (what `clients add demo-bff --redirect-uri BFF_URL/bff/callback
    --backchannel-logout-uri BFF_URL/bff/backchannel-logout ...` registers); returns its client secret and
    the BFF's session key, both kept 0600 in data_dir so every run reuses them."""
    storage, now = provider.storage, provider.now()
    data_dir = provider.settings.data_dir
    secret_file, key_file = data_dir / BFF_SECRET_FILE, data_dir / BFF_SESSION_KEY_FILE
    if not key_file.exists():
        _write_private(key_file, new_token(32) + "\n")
    existing = await storage.get_client(BFF_CLIENT_ID)
    if existing is None or not secret_file.exists():
        _write_private(secret_file, new_token(32) + "\n")
        existing = None
    secret = secret_file.read_text(encoding="ascii").strip()
    wanted = Client(
        client_id=BFF_CLIENT_ID,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=(f"{bff_url}/bff/callback",),
        grant_types=("authorization_code", "refresh_token"),
        scopes=tuple(APP_SCOPE.split()),
        post_logout_redirect_uris=(f"{bff_url}/",),
        first_party=True,
        audience=api_url,
        secret_hash=provider.hash(secret),
        backchannel_logout_uri=f"{bff_url}/bff/backchannel-logout",
        backchannel_logout_session_required=True,
        created_at=now,
    )
    if existing is None or replace(existing, created_at=now) != wanted:  # new, or other ports than before
        await storage.remove_client(BFF_CLIENT_ID, provider.now())
        await storage.add_client(wanted)
    return secret, key_file.read_text(encoding="ascii").strip()


def _bff(settings: Settings, client_secret: str, session_key: str, bff_url: str, api_url: str) -> ASGIApp:
    from passportoffice.bff import BffSettings, Upstream, create_bff
    from passportoffice.demo.spa_server import SpaConfig, create_spa

    bff_settings = BffSettings(
        issuer=settings.issuer,
        client_id=BFF_CLIENT_ID,
        client_secret=client_secret,
        secret_key=session_key,
        base_url=bff_url,
        scope=APP_SCOPE,
        session_store=f"sqlite+aiosqlite:///{settings.data_dir / 'demo-bff.db'}",
        upstreams=(Upstream(prefix="/api", url=api_url),),
    )
    # The same SPA, told to leave sign-in to the BFF and to call the API through it, on this origin.
    pages = create_spa(
        SpaConfig(
            issuer=settings.issuer,
            clientId=BFF_CLIENT_ID,
            redirectUri=f"{bff_url}/bff/callback",
            postLogoutRedirectUri=f"{bff_url}/",
            audience=api_url,
            api="/api",
            scope=APP_SCOPE,
            mode="bff",
        )
    )
    return create_bff(bff_settings, pages=pages)


async def _demo(settings: Settings, app_port: int, api_port: int, bff_port: int) -> bool:
    from passportoffice.cli.servers import serve_together, server
    from passportoffice.demo.spa_server import SpaConfig, create_spa
    from passportoffice.web.app import create_app

    configure_logging(settings.log_format, settings.log_level)
    # httpx logs every URL it requests at INFO (the API's JWKS fetches); query strings stay out of our logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    provider = await open_provider(settings, migrate=True)
    try:
        app_url, api_url = f"http://localhost:{app_port}", f"http://localhost:{api_port}"
        bff_url = f"http://localhost:{bff_port}"
        secret_file = await seed(provider, app_url, api_url)
        bff_secret, bff_key = await seed_bff(provider, bff_url, api_url)
        spa = create_spa(
            SpaConfig(
                issuer=settings.issuer,
                clientId=APP_CLIENT_ID,
                redirectUri=f"{app_url}/callback",
                postLogoutRedirectUri=f"{app_url}/",
                audience=api_url,
                api=api_url,
                scope=APP_SCOPE,
            )
        )
        servers = [
            server(create_app(provider), settings.host, settings.port),
            server(spa, settings.host, app_port),
            notes_server(settings.issuer, api_url, app_url, settings.host, api_port),
            server(_bff(settings, bff_secret, bff_key, bff_url, api_url), settings.host, bff_port),
        ]
        issuer = settings.issuer
        typer.echo(
            f"\n  Open the demo SPA:  {app_url}  (client {APP_CLIENT_ID}: public, refresh cookie)\n"
            f"  ... through the BFF: {bff_url}  (client {BFF_CLIENT_ID}: confidential; the browser gets no token)\n"
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
