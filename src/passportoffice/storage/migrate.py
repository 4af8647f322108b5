"""Schema migrations run from code (start-up, the CLI, tests): no alembic.ini to ship or find.

The scripts live in `storage/migrations/` inside the package, so an installed wheel can migrate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from passportoffice.storage.database import Database

__all__ = ["current_revision", "pending", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")
# Any fixed number: instances starting together against one PostgreSQL take turns to migrate.
# (On SQLite the write transaction's BEGIN IMMEDIATE already makes them take turns.)
_LOCK_ID = 0x7061_7373

T = TypeVar("T")


async def upgrade(database_url: str) -> None:
    """Bring the database to the newest revision; a no-op when it is already there."""
    path = _sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    database = Database(database_url, pool_size=1)
    try:
        # One transaction: a failed upgrade leaves the previous schema, never half of the next one.
        async with database.write() as connection:
            if not database.is_sqlite:
                await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            await connection.run_sync(_upgrade)
    finally:
        await database.close()


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    if _missing_sqlite_file(database_url):
        return None
    return await _inspect(database_url, _current_revision)


async def pending(database_url: str) -> bool:
    """True when `upgrade` would change something."""
    if _missing_sqlite_file(database_url):
        return True
    return await _inspect(database_url, _pending)


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: sa.Connection) -> None:
    command.upgrade(_config(connection), "head")


def _current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _pending(connection: sa.Connection) -> bool:
    current = set(MigrationContext.configure(connection).get_current_heads())
    return current != set(ScriptDirectory.from_config(_config()).get_heads())


async def _inspect(database_url: str, read: Callable[[sa.Connection], T]) -> T:
    database = Database(database_url, pool_size=1)
    try:
        async with database.read() as connection:
            return await connection.run_sync(read)
    finally:
        await database.close()


def _missing_sqlite_file(database_url: str) -> bool:
    # Asking must not create an empty database file (or fail on a missing directory).
    path = _sqlite_path(database_url)
    return path is not None and not path.exists()


def _sqlite_path(database_url: str) -> Path | None:
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)
