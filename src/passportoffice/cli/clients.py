"""`passportoffice clients`: register, list and remove OAuth clients (RFC 6749 §2, RFC 7591 §2 metadata).

Every value is validated before the database is touched: redirect URIs as the authorization endpoint
will match them (exact, no fragment; RFC 6749 §3.1.2), origins as browsers send them, and a
private_key_jwt client's JWKS may hold public keys only. A client secret is shown once and stored
only as a keyed hash.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jwt
import typer

from passportoffice.cli import UsageError, console, errors_as_messages, fail, opened_provider, print_json, run, table
from passportoffice.errors import InvalidRedirectUri, InvalidScope
from passportoffice.protocol.redirect_uris import validate_redirect_uri
from passportoffice.protocol.scopes import parse_scope
from passportoffice.protocol.secrets import new_token
from passportoffice.storage.interface import DuplicateError
from passportoffice.storage.records import Client

app = typer.Typer(help="Manage OAuth clients.", no_args_is_help=True)

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
DEFAULT_GRANTS = ("authorization_code", "refresh_token")
DEFAULT_SCOPES = ("openid", "profile", "email", "offline_access")
_SECRET_METHODS = ("client_secret_basic", "client_secret_post")
# RFC 7517 §6.2.2, §6.3.2, §6.4.1: these members are private or symmetric key material.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,254}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_ORIGIN = re.compile(rf"https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::[1-9][0-9]{{0,4}})?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_AUDIENCE_LENGTH = 2048


@app.command("add")
def add(
    client_id: Annotated[str, typer.Argument(help="Letters, digits and . _ ~ - (at most 255).")],
    redirect_uri: Annotated[list[str] | None, typer.Option("--redirect-uri", help="Exact redirect URI.")] = None,
    public: Annotated[bool, typer.Option("--public", help="A browser or native app: no secret.")] = False,
    grant: Annotated[list[str] | None, typer.Option("--grant", help=", ".join(GRANT_TYPES))] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scopes it may request.")] = None,
    origin: Annotated[list[str] | None, typer.Option("--origin", help="CORS origin scheme://host[:port].")] = None,
    post_logout_redirect_uri: Annotated[list[str] | None, typer.Option("--post-logout-redirect-uri")] = None,
    first_party: Annotated[bool, typer.Option("--first-party", help="Our own app: no consent screen.")] = False,
    refresh_cookie: Annotated[
        bool,
        typer.Option(
            "--refresh-cookie",
            help="A public SPA whose refresh token lives only in an HttpOnly cookie (needs --origin on the "
            "provider's site).",
        ),
    ] = False,
    audience: Annotated[list[str] | None, typer.Option("--audience", help="API it may get tokens for.")] = None,
    auth_method: Annotated[str | None, typer.Option("--auth-method", help=", ".join(AUTH_METHODS))] = None,
    jwks_file: Annotated[Path | None, typer.Option("--jwks-file", help="Public JWKS (private_key_jwt).")] = None,
    backchannel_logout_uri: Annotated[
        str | None,
        typer.Option("--backchannel-logout-uri", help="Where logout tokens are POSTed (https, or http on localhost)."),
    ] = None,
    backchannel_logout_session_required: Annotated[
        bool,
        typer.Option("--backchannel-logout-session-required", help="The client needs `sid` in logout tokens."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to standard output.")] = False,
) -> None:
    """Register a client; a confidential client's secret is printed once, then only its hash is kept."""
    with errors_as_messages():
        client = _client_from_options(
            client_id=client_id,
            public=public,
            auth_method=auth_method,
            jwks_file=jwks_file,
            grants=grant or list(DEFAULT_GRANTS),
            redirect_uris=redirect_uri or [],
            post_logout_redirect_uris=post_logout_redirect_uri or [],
            origins=origin or [],
            scopes=scope or [],
            audiences=audience or [],
            first_party=first_party,
            backchannel_logout_uri=backchannel_logout_uri,
            backchannel_logout_session_required=backchannel_logout_session_required,
            refresh_cookie=refresh_cookie,
        )
    stored, secret = run(_add(client))
    if as_json:
        print_json(_client_json(stored) | ({"client_secret": secret} if secret else {}))
        return
    kind = "public" if stored.is_public else "confidential"
    typer.echo(f"added client {stored.client_id} ({kind}, {stored.token_endpoint_auth_method})")
    if secret:
        typer.echo(f"client_secret: {secret}")
        typer.echo("The secret is shown only this once; only a keyed hash of it is stored.", err=True)


def _client_from_options(
    *,
    client_id: str,
    public: bool,
    auth_method: str | None,
    jwks_file: Path | None,
    grants: list[str],
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    origins: list[str],
    scopes: list[str],
    audiences: list[str],
    first_party: bool,
    backchannel_logout_uri: str | None = None,
    backchannel_logout_session_required: bool = False,
    refresh_cookie: bool = False,
) -> Client:
    if not _CLIENT_ID.fullmatch(client_id):
        raise UsageError(f"invalid client id {client_id!r}: use 1-255 letters, digits and . _ ~ -")
    if public and auth_method is not None:
        raise UsageError("--public and --auth-method exclude each other (a public client has no credentials)")
    method = "none" if public else auth_method or "client_secret_basic"
    if method not in (*AUTH_METHODS, "none"):
        raise UsageError(f"unknown --auth-method {method!r}: use one of {', '.join(AUTH_METHODS)}")
    if (method == "private_key_jwt") != (jwks_file is not None):
        raise UsageError("--auth-method private_key_jwt and --jwks-file go together")
    grant_types = _grant_types(grants, public)
    if "authorization_code" in grant_types and not redirect_uris:
        raise UsageError("the authorization_code grant needs at least one --redirect-uri")
    for option, uri in [("--redirect-uri", u) for u in redirect_uris] + [
        ("--post-logout-redirect-uri", u) for u in post_logout_redirect_uris
    ]:
        try:
            validate_redirect_uri(uri)
        except InvalidRedirectUri as exc:
            raise UsageError(f"{option} {uri!r}: {exc.description}") from None
    for value in origins:
        _check_origin(value)
    if backchannel_logout_uri is not None:
        _check_backchannel_logout_uri(backchannel_logout_uri)
    elif backchannel_logout_session_required:
        raise UsageError("--backchannel-logout-session-required needs --backchannel-logout-uri")
    if refresh_cookie:
        _check_refresh_cookie(public, origins, grant_types)
    return Client(
        client_id=client_id,
        token_endpoint_auth_method=method,
        redirect_uris=tuple(dict.fromkeys(redirect_uris)),
        grant_types=grant_types,
        scopes=_scopes(scopes),
        post_logout_redirect_uris=tuple(dict.fromkeys(post_logout_redirect_uris)),
        origins=tuple(dict.fromkeys(origins)),
        first_party=first_party,
        refresh_cookie=refresh_cookie,
        audience=_audience(audiences),
        jwks=_load_jwks(jwks_file) if jwks_file is not None else None,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
    )


def _grant_types(grants: list[str], public: bool) -> tuple[str, ...]:
    for grant in grants:
        if grant not in GRANT_TYPES:
            raise UsageError(f"unsupported --grant {grant!r}: use one of {', '.join(GRANT_TYPES)}")
    if public and "client_credentials" in grants:
        raise UsageError("a public client cannot use client_credentials: it has no credentials")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise UsageError("refresh_token needs the authorization_code grant, which issues refresh tokens")
    return tuple(dict.fromkeys(grants))


def _check_refresh_cookie(public: bool, origins: list[str], grant_types: tuple[str, ...]) -> None:
    # The cookie replaces what a confidential client would keep server-side; its fetches come from origins.
    if not public:
        raise UsageError("--refresh-cookie is for public clients (add --public); a server keeps its own tokens")
    if not origins:
        raise UsageError("--refresh-cookie needs at least one --origin: the refresh endpoint answers only those")
    if "refresh_token" not in grant_types:
        raise UsageError("--refresh-cookie needs the refresh_token grant (add --grant refresh_token)")


def _scopes(values: list[str]) -> tuple[str, ...]:
    try:
        parsed = [token for value in values for token in parse_scope(value)]
    except InvalidScope as exc:
        raise UsageError(f"--scope: {exc.description}") from None
    return tuple(dict.fromkeys(parsed)) or DEFAULT_SCOPES


def _audience(values: list[str]) -> str | None:
    for value in values:
        parts = urlsplit(value)
        # RFC 8707 §2: a resource is an absolute URI without a fragment; spaces separate them in storage.
        if not parts.scheme or "#" in value or any(char.isspace() for char in value):
            raise UsageError(f"--audience {value!r}: must be an absolute URI without a fragment")
    joined = " ".join(dict.fromkeys(values))
    if len(joined) > _MAX_AUDIENCE_LENGTH:
        raise UsageError(f"--audience: at most {_MAX_AUDIENCE_LENGTH} characters in all")
    return joined or None


def _check_origin(origin: str) -> None:
    """An origin as browsers send it in `Origin`, so that comparing strings is comparing origins."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        raise UsageError(f"--origin {origin!r}: malformed host or port") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"--origin {origin!r}: must be an http or https origin")
    if "@" in parts.netloc:
        raise UsageError(f"--origin {origin!r}: must not contain userinfo")
    if parts.path or "?" in origin or "#" in origin:
        raise UsageError(f"--origin {origin!r}: must be scheme://host[:port] with no path, query or fragment")
    if origin != origin.lower():
        raise UsageError(f"--origin {origin!r}: must be lower case, as browsers send it")
    if port == _DEFAULT_PORTS[parts.scheme]:
        raise UsageError(f"--origin {origin!r}: leave out the default port, as browsers do")
    if not _ORIGIN.fullmatch(origin):
        raise UsageError(f"--origin {origin!r}: malformed host or port")


def _check_backchannel_logout_uri(uri: str) -> None:
    """Back-Channel Logout 1.0 §2.2: an absolute URL, https except on localhost, never a fragment."""
    option = f"--backchannel-logout-uri {uri!r}"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise UsageError(f"{option}: malformed host or port") from None
    if "#" in uri:
        raise UsageError(f"{option}: must not contain a fragment")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"{option}: must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"{option}: must not contain userinfo")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise UsageError(f"{option}: must use https (http only on localhost)")
    if len(uri) > _MAX_AUDIENCE_LENGTH or any(char.isspace() for char in uri):
        raise UsageError(f"{option}: must be at most {_MAX_AUDIENCE_LENGTH} characters without spaces")


def _load_jwks(path: Path) -> dict[str, object]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--jwks-file {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError:
        raise UsageError(f"--jwks-file {str(path)!r}: not valid JSON") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(key, dict) for key in keys):
        raise UsageError(f'--jwks-file {str(path)!r}: must be a JWKS, {{"keys": [...]}} with at least one key')
    for key in keys:
        private = sorted(_PRIVATE_JWK_MEMBERS & key.keys())
        if private:
            # The provider must only ever hold what verifies the client's assertions, never what signs them.
            raise UsageError(
                f"--jwks-file {str(path)!r}: key {key.get('kid', '?')!r} contains private or symmetric "
                f"key material ({', '.join(private)}); register public keys only"
            )
    try:
        jwt.PyJWKSet.from_dict({"keys": keys})
    except jwt.exceptions.PyJWTError as exc:
        raise UsageError(f"--jwks-file {str(path)!r}: {exc}") from None
    return {"keys": keys}


async def _add(client: Client) -> tuple[Client, str | None]:
    async with opened_provider() as provider:
        # 256 bits from the CSPRNG; only its keyed hash is stored, so a database leak does not reveal it.
        secret = new_token(32) if client.token_endpoint_auth_method in _SECRET_METHODS else None
        stored = replace(
            client,
            secret_hash=provider.hash(secret) if secret is not None else None,
            created_at=provider.now(),
        )
        try:
            await provider.storage.add_client(stored)
        except DuplicateError:
            raise DuplicateError(f"client {client.client_id!r}") from None
        return stored, secret


@app.command("list")
def list_clients(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to standard output.")] = False,
) -> None:
    """List clients (never their secrets or secret hashes)."""
    clients = run(_list())
    if as_json:
        print_json([_client_json(client) for client in clients])
        return
    rows = table("client_id", "auth method", "grants", "redirect URIs", "scopes", "origins")
    for client in clients:
        rows.add_row(
            client.client_id
            + (" (first party)" if client.first_party else "")
            + (" (refresh cookie)" if client.refresh_cookie else ""),
            client.token_endpoint_auth_method,
            "\n".join(client.grant_types),
            "\n".join(client.redirect_uris) or "-",
            " ".join(client.scopes),
            "\n".join(client.origins) or "-",
        )
    console.print(rows)


async def _list() -> list[Client]:
    async with opened_provider() as provider:
        return list(await provider.storage.list_clients())


@app.command("remove")
def remove(client_id: str) -> None:
    """Remove a client."""
    if not run(_remove(client_id)):
        fail(f"no client {client_id!r}")
    typer.echo(f"removed client {client_id}")


async def _remove(client_id: str) -> bool:
    async with opened_provider() as provider:
        return await provider.storage.remove_client(client_id, provider.now())


def _client_json(client: Client) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "public": client.is_public,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "origins": list(client.origins),
        "first_party": client.first_party,
        "refresh_cookie": client.refresh_cookie,
        "audience": list(client.audiences),
        "jwks": client.jwks,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "created_at": client.created_at,
    }
