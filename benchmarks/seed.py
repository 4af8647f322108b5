"""Seeding through the storage layer: clients, users, refresh tokens and pending logins, in bulk.

Every refresh request of a run presents a token nobody has presented before, so the run measures real
rotation (a compare-and-set and an insert), never the reuse window's replayed answer. Every login posts
a pending authorization request of its own, with a CSRF token computed for one fixed cookie value.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from passportoffice.bootstrap import open_provider
from passportoffice.crypto.keys import SUPPORTED_ALGORITHMS
from passportoffice.crypto.secretbox import DecryptionError
from passportoffice.protocol.pkce import s256_challenge
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import username_key
from passportoffice.settings import Settings
from passportoffice.storage.database import Database
from passportoffice.storage.records import Client, Grant, RefreshToken, Session, User
from passportoffice.storage.sql import SqlStorage
from passportoffice.storage.tables import authorization_requests, grants, refresh_tokens
from passportoffice.web.cookies import CSRF_COOKIE, csrf_token

AUDIENCE = "https://api.bench.test"
REDIRECT_URI = "http://127.0.0.1:8400/callback"
PASSWORD = "correct horse battery staple"
# More accounts than logins in flight, so no account's throttle counter sees parallel attempts.
USERS = 64
SERVICE_SCOPES = ("api.read", "api.write")
_CHUNK = 5000


@dataclass(frozen=True)
class Seeded:
    tag: str
    service_client_id: str
    service_secret: str  # the peer is given the same client, secret and all
    service_scopes: tuple[str, ...]
    basic_authorization: str  # "Basic ..." for the confidential client
    app_client_id: str  # the public, first-party client whose refresh tokens and logins are used
    user_id: str  # the user the refresh tokens' session is for
    csrf_cookie: str  # "Cookie" header value that the login bodies' CSRF tokens are bound to
    client_credentials_body: Path
    refresh_bodies: Path  # one body per line, each with a refresh token of its own
    login_bodies: Path
    refresh_check: str  # one more of each, sent once before the run to check the answer
    login_check: str


class SeedFailed(Exception):
    """The database cannot be used for a run (the message says why, in one line)."""


async def seed(settings: Settings, workdir: Path, *, refresh_tokens: int, logins: int) -> Seeded:
    provider = await open_provider(settings, migrate=True)
    try:
        await _check_keys(provider)
        return await _seed(provider, workdir, refresh_tokens=refresh_tokens, logins=logins)
    finally:
        await provider.storage.close()


async def _check_keys(provider: Provider) -> None:
    now = provider.now()
    await provider.keyring.ensure_keys(now)
    try:
        for alg in SUPPORTED_ALGORITHMS:
            provider.keyring.signing_key(alg, now)
    except DecryptionError:
        # Keys left by an earlier run were sealed under that run's instance secret.
        raise SeedFailed("the database holds signing keys of another instance secret: use an empty one") from None


async def _seed(provider: Provider, workdir: Path, *, refresh_tokens: int, logins: int) -> Seeded:
    now = provider.now()
    tag = secrets.token_hex(4)  # unique names, so runs can share a database
    service_id, app_id = f"bench-service-{tag}", f"bench-app-{tag}"
    secret = new_token()
    await provider.storage.add_client(
        Client(
            client_id=service_id,
            token_endpoint_auth_method="client_secret_basic",
            redirect_uris=(),
            grant_types=("client_credentials",),
            scopes=SERVICE_SCOPES,
            secret_hash=provider.hash(secret),
            audience=AUDIENCE,
            created_at=now,
        )
    )
    await provider.storage.add_client(
        Client(
            client_id=app_id,
            token_endpoint_auth_method="none",
            redirect_uris=(REDIRECT_URI,),
            grant_types=("authorization_code", "refresh_token"),
            scopes=("openid", "profile", "email", "offline_access"),
            first_party=True,
            audience=AUDIENCE,
            created_at=now,
        )
    )
    usernames = await _add_users(provider, tag, now)
    db = _database(provider)
    session = await _add_session(provider, usernames[0][1], now)
    client_credentials_body = workdir / "client_credentials.txt"
    # The scope is named, so ours and the peer (which grants none unless asked) issue the same token.
    form = {"grant_type": "client_credentials", "scope": " ".join(SERVICE_SCOPES)}
    client_credentials_body.write_text(urlencode(form) + "\n")
    refresh_bodies = workdir / "refresh_tokens.txt"
    refresh = await _add_refresh_tokens(provider, db, app_id, session, refresh_tokens + 1)
    _write_lines(refresh_bodies, refresh[1:])
    login_bodies = workdir / "logins.txt"
    binding = secrets.token_urlsafe(32)
    login = await _add_login_requests(provider, db, app_id, binding, [name for name, _ in usernames], logins + 1)
    _write_lines(login_bodies, login[1:])
    credentials = base64.b64encode(f"{service_id}:{secret}".encode()).decode()
    return Seeded(
        tag=tag,
        service_client_id=service_id,
        service_secret=secret,
        service_scopes=SERVICE_SCOPES,
        basic_authorization="Basic " + credentials,
        app_client_id=app_id,
        user_id=usernames[0][1],
        csrf_cookie=f"{CSRF_COOKIE}={binding}",
        client_credentials_body=client_credentials_body,
        refresh_bodies=refresh_bodies,
        login_bodies=login_bodies,
        refresh_check=refresh[0],
        login_check=login[0],
    )


async def _add_users(provider: Provider, tag: str, now: int) -> list[tuple[str, str]]:
    # One argon2 hash for every account: the login floor is the verification, not the seeding.
    password_hash = provider.passwords.hash(PASSWORD)
    added = []
    for index in range(USERS):
        username = f"bench-{tag}-{index}"
        user = User(
            id=new_token(16),
            username=username,
            username_key=username_key(username),
            email=None,
            email_verified=False,
            name=f"Bench User {index}",
            password_hash=password_hash,
            disabled=False,
            created_at=now,
        )
        await provider.storage.add_user(user)
        added.append((username, user.id))
    return added


async def _add_session(provider: Provider, user_id: str, now: int) -> Session:
    # The refresh grants are not offline_access: each refresh also checks that this session lives.
    session = Session(
        id_hash=provider.hash(new_token()),
        sid=new_token(16),
        user_id=user_id,
        auth_time=now,
        amr=("pwd",),
        created_at=now,
        expires_at=now + provider.settings.session_ttl,
    )
    await provider.storage.add_session(session)
    return session


async def _add_refresh_tokens(
    provider: Provider, db: Database, client_id: str, session: Session, count: int
) -> list[str]:
    settings, now = provider.settings, session.created_at
    grant_rows: list[dict[str, Any]] = []
    token_rows: list[dict[str, Any]] = []
    bodies: list[str] = []
    for _ in range(count):
        grant = Grant(
            id=new_token(16),
            client_id=client_id,
            user_id=session.user_id,
            sid=session.sid,
            scope="openid profile",
            audience=(AUDIENCE,),
            offline=False,
            auth_time=now,
            amr=session.amr,
            created_at=now,
            expires_at=now + settings.refresh_token_absolute_ttl,
        )
        raw = new_token()
        token = RefreshToken(
            token_hash=provider.hash(raw),
            grant_id=grant.id,
            created_at=now,
            expires_at=now + settings.refresh_token_idle_ttl,
        )
        grant_rows.append(asdict(grant) | {"audience": list(grant.audience), "amr": list(grant.amr)})
        token_rows.append(asdict(token))
        bodies.append(urlencode({"grant_type": "refresh_token", "client_id": client_id, "refresh_token": raw}))
    await _insert(db, grants, grant_rows)
    await _insert(db, refresh_tokens, token_rows)
    return bodies


async def _add_login_requests(
    provider: Provider,
    db: Database,
    client_id: str,
    binding: str,
    usernames: list[str],
    count: int,
) -> list[str]:
    now = provider.now()
    rows: list[dict[str, Any]] = []
    bodies: list[str] = []
    for index in range(count):
        request_id = new_token()
        parameters = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile",
            "state": new_token(16),
            "nonce": new_token(16),
            "code_challenge": s256_challenge(new_token(32)),
            "code_challenge_method": "S256",
        }
        expires_at = now + provider.settings.authorization_request_ttl
        rows.append({"id": request_id, "client_id": client_id, "parameters": parameters, "expires_at": expires_at})
        form = {
            "request_id": request_id,
            "csrf_token": csrf_token(provider, binding, request_id),
            "username": usernames[index % len(usernames)],
            "password": PASSWORD,
        }
        bodies.append(urlencode(form))
    await _insert(db, authorization_requests, rows)
    return bodies


async def add_refresh_requests(settings: Settings, seeded: Seeded, count: int, path: Path) -> str:
    """`count` more never-used refresh tokens on a new session, one request body per line in `path`.

    Returns one more request, for the check before the run.
    """
    provider = await open_provider(settings, migrate=False)
    try:
        session = await _add_session(provider, seeded.user_id, provider.now())
        bodies = await _add_refresh_tokens(provider, _database(provider), seeded.app_client_id, session, count + 1)
    finally:
        await provider.storage.close()
    _write_lines(path, bodies[1:])
    return bodies[0]


async def rotated_count(settings: Settings, client_id: str) -> int:
    """How many of this client's refresh tokens have been rotated (checks wrk's count against the database)."""
    db = Database(settings.resolved_database_url)
    query = (
        sa.select(sa.func.count())
        .select_from(refresh_tokens.join(grants, grants.c.id == refresh_tokens.c.grant_id))
        .where(grants.c.client_id == client_id, refresh_tokens.c.rotated_at.is_not(None))
    )
    try:
        async with db.read() as c:
            return int((await c.execute(query)).scalar_one())
    finally:
        await db.close()


async def _insert(db: Database, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    # executemany in chunks: one statement per chunk, not one round trip per row.
    for start in range(0, len(rows), _CHUNK):
        async with db.write() as c:
            await c.execute(table.insert(), rows[start : start + _CHUNK])


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def _database(provider: Provider) -> Database:
    if not isinstance(provider.storage, SqlStorage):
        raise TypeError("bulk seeding needs the SQL storage")
    return provider.storage.db
