"""`passportoffice bff`: run the Backend-for-Frontend as its own process (passportoffice.bff)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

if TYPE_CHECKING:
    from passportoffice.bff.settings import BffSettings

from passportoffice.cli import UsageError, errors_as_messages, fail, run

__all__ = ["bff"]


def bff(
    issuer: Annotated[str, typer.Option("--issuer", help="The provider's issuer URL.")],
    client_id: Annotated[str, typer.Option("--client-id", help="The BFF's client_id (confidential).")],
    client_secret_file: Annotated[
        Path | None, typer.Option("--client-secret-file", help="File holding the client secret (one line).")
    ] = None,
    upstream: Annotated[
        list[str] | None,
        typer.Option("--upstream", help="PREFIX=URL, e.g. /api=http://localhost:9001 (repeatable)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 9003,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Public URL (default http://localhost:PORT).")
    ] = None,
    session_store: Annotated[
        str | None,
        typer.Option("--session-store", help="sqlite+aiosqlite:///FILE, postgresql+asyncpg://... or redis://..."),
    ] = None,
    secret_key_file: Annotated[
        Path | None,
        typer.Option("--secret-key-file", help="Session secret (else PASSPORTOFFICE_BFF_SECRET_KEY)."),
    ] = None,
    static_dir: Annotated[
        Path | None, typer.Option("--static-dir", help="Serve the app's own files (an SPA) from here.")
    ] = None,
    private_key_file: Annotated[
        Path | None,
        typer.Option("--private-key-file", help="PEM key for private_key_jwt, instead of a client secret."),
    ] = None,
    private_key_kid: Annotated[
        str | None, typer.Option("--private-key-kid", help="The key's kid in the registered JWKS.")
    ] = None,
) -> None:
    """Run the BFF: the browser gets a session cookie, tokens stay here, API calls are proxied."""
    from passportoffice.bff.settings import BffSettings

    with errors_as_messages():
        if (client_secret_file is None) == (private_key_file is None):
            raise UsageError("give --client-secret-file or --private-key-file (one of them)")
        values: dict[str, object] = {
            "issuer": issuer,
            "client_id": client_id,
            "base_url": base_url or f"http://localhost:{port}",
            "upstreams": tuple(_upstream(value) for value in upstream or []),
        }
        if client_secret_file is not None:
            values["client_secret"] = _read_secret(client_secret_file, "--client-secret-file")
        if private_key_file is not None:
            values["private_key"] = _read_file(private_key_file, "--private-key-file")
            values["private_key_kid"] = private_key_kid
        if session_store is not None:
            values["session_store"] = session_store
        if secret_key_file is not None:
            values["secret_key"] = _read_secret(secret_key_file, "--secret-key-file")
        if static_dir is not None and not static_dir.is_dir():
            raise UsageError(f"--static-dir {str(static_dir)!r} is not a directory")
        try:
            settings = BffSettings(**values)  # type: ignore[arg-type]
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            if first["type"] == "missing" and field == "secret_key":
                message = "give --secret-key-file or set PASSPORTOFFICE_BFF_SECRET_KEY (32+ characters)"
            raise UsageError(f"invalid BFF setting {field}: {message}".splitlines()[0]) from None
    if not run(_serve(settings, host, port, static_dir)):
        fail(f"the BFF did not start on {host}:{port} (see the log above)")


def _read_secret(path: Path, option: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"{option} {str(path)!r}: {exc.strerror or exc}") from None
    if not value or "\n" in value:
        raise UsageError(f"{option} {str(path)!r}: must hold one non-empty line")
    return value


def _read_file(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option} {str(path)!r}: {exc.strerror or exc}") from None


def _upstream(value: str) -> dict[str, str]:
    prefix, separator, url = value.partition("=")
    if not separator or not prefix or not url:
        raise UsageError(f"--upstream {value!r}: use PREFIX=URL, e.g. /api=http://localhost:9001")
    return {"prefix": prefix, "url": url}


async def _serve(settings: BffSettings, host: str, port: int, static_dir: Path | None) -> bool:
    import logging

    from passportoffice.bff import create_bff
    from passportoffice.cli.servers import serve_together, server
    from passportoffice.logs import configure_logging

    configure_logging("text", "INFO")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs URLs with query strings at INFO
    app = create_bff(settings, static_dir=static_dir)
    typer.echo(f"BFF:       {settings.base_url}  (login: {settings.base_url}/bff/login)")
    typer.echo(f"issuer:    {settings.issuer}")
    typer.echo(f"redirect:  {settings.redirect_uri}  (register it, and {settings.base_url}/bff/backchannel-logout)")
    for each in settings.upstreams:
        typer.echo(f"upstream:  {each.prefix} -> {each.url}")
    return await serve_together([server(app, host, port)])
