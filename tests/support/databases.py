"""Databases for tests: SQLite files, and PostgreSQL scratch databases (one per test session).

Without a reachable PostgreSQL its tests skip, unless PASSPORTOFFICE_REQUIRE_POSTGRES=1 (CI).
PASSPORTOFFICE_TEST_POSTGRES_URL names the server (scratch databases are created next to it).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from passportoffice.storage import migrate
from passportoffice.storage.database import Database
from passportoffice.storage.tables import metadata

POSTGRES_URL = os.environ.get("PASSPORTOFFICE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _admin(statement: str) -> None:
    # AUTOCOMMIT: CREATE and DROP DATABASE refuse to run inside a transaction.
    engine = create_async_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"timeout": 5}
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server URL, once it is known to answer."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, TimeoutError, sa.exc.DBAPIError) as exc:
        message = f"PostgreSQL unreachable at {sa.make_url(POSTGRES_URL)!r}: {exc!r}"
        if os.environ.get("PASSPORTOFFICE_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = f"po_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The session's migrated PostgreSQL database."""
    with scratch_database(postgres_server) as url:
        asyncio.run(migrate.upgrade(url))
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database to migrate (SQLite) or an already migrated one (PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'po.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def prepare_database(database: Database, url: str) -> None:
    """SQLite: migrate the new file. PostgreSQL: empty the session's migrated database."""
    if database.is_sqlite:
        await migrate.upgrade(url)
        return
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with database.write() as connection:
        await connection.execute(sa.text(f"TRUNCATE {names} CASCADE"))


REDIS_URL = os.environ.get("PASSPORTOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis URL, once it is known to answer; skips without it unless PASSPORTOFFICE_REQUIRE_REDIS=1."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis unreachable at {REDIS_URL}: {exc!r}"
        if os.environ.get("PASSPORTOFFICE_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL
