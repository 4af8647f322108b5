"""`passportoffice demo-api`: the demo notes API (passportoffice.demo.notes_api) on its own.

    passportoffice demo-api --issuer http://localhost:9000 --audience http://localhost:9001

Every value is checked here, so a mistake ends in one `error:` line (exit code 2), never a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from passportoffice.cli import UsageError, errors_as_messages, fail, run
from passportoffice.logs import configure_logging

if TYPE_CHECKING:
    import uvicorn

__all__ = ["DEFAULT_API_PORT", "DEFAULT_ORIGIN", "demo_api", "notes_server", "parse_port"]

DEFAULT_API_PORT = 9001
DEFAULT_ORIGIN = "http://localhost:9002"  # the demo SPA
_MAX_URL_LENGTH = 2048


def demo_api(
    issuer: Annotated[str | None, typer.Option("--issuer", help="The provider's issuer URL.")] = None,
    audience: Annotated[str | None, typer.Option("--audience", help="This API's audience (aud) value.")] = None,
    port: Annotated[str, typer.Option("--port", help="Port to listen on.")] = str(DEFAULT_API_PORT),
    origin: Annotated[str, typer.Option("--origin", help="The one browser origin allowed (CORS).")] = DEFAULT_ORIGIN,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Run the demo notes API: GET /notes (notes:read), POST and DELETE /notes (notes:write)."""
    with errors_as_messages():
        if issuer is None or audience is None:
            raise UsageError("--issuer and --audience are required")
        checked_issuer = http_url("--issuer", issuer)
        if not audience.strip() or len(audience) > _MAX_URL_LENGTH or audience != audience.strip():
            raise UsageError("--audience must be this API's audience value, as the provider puts it in tokens")
        listen_port = parse_port("--port", port)
        allowed_origin = web_origin("--origin", origin)
        configure_logging("text", "INFO")
        api = notes_server(checked_issuer, audience, allowed_origin, host, listen_port)
    try:
        started = run(_serve(api))
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signal
        return
    if not started:
        fail(f"the demo API did not start on {host}:{listen_port} (see the log above)")


def notes_server(issuer: str, audience: str, origin: str, host: str, port: int) -> uvicorn.Server:
    """The notes API as a server (`demo` starts it next to the provider)."""
    try:
        from passportoffice.demo.notes_api import create_notes_api
    except ImportError as exc:  # FastAPI is an extra: the provider does not need it
        missing = exc.name or "fastapi"
        raise UsageError(f"the demo API needs {missing}: pip install 'passportoffice[demo]'") from None
    from passportoffice.cli.servers import server
    from passportoffice.guard import TokenVerifier

    return server(create_notes_api(TokenVerifier(issuer, audience), origin), host, port)


async def _serve(api: uvicorn.Server) -> bool:
    from passportoffice.cli.servers import serve_together

    typer.echo(f"notes API: http://{api.config.host}:{api.config.port}/notes")
    return await serve_together([api])


def parse_port(option: str, value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise UsageError(f"{option} must be a port number from 1 to 65535")
    return int(value)


def http_url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if (
        len(value) > _MAX_URL_LENGTH
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise UsageError(f"{option} must be an http(s) URL without query, fragment or credentials")
    return value


def web_origin(option: str, value: str) -> str:
    """An origin (RFC 6454 §7): scheme://host[:port], exactly as a browser sends it in `Origin`."""
    parts = urlsplit(value)
    try:
        valid_port = parts.port is None or parts.port > 0
    except ValueError:
        valid_port = False
    if (
        not valid_port
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or value != f"{parts.scheme}://{parts.netloc}"
    ):
        raise UsageError(f"{option} must be an origin like {DEFAULT_ORIGIN} (no path, no trailing slash)")
    return value
