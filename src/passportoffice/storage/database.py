"""The database connection: one async engine, write transactions that serialise correctly on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Read-only connections skip SQLite's write lock; everything else takes it up front.
_READ_ONLY = "passportoffice_read_only"


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = sa.make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # hide_parameters: an error message or log line never carries the values bound to a statement
        # (password hashes, token hashes, sealed replay responses).
        options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": 30}
        else:
            # A down database must give a 503 quickly, not a hang (connect and pool waits are bounded).
            options["connect_args"] = {"timeout": 5, "command_timeout": 30}
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; commits on success, rolls back on any exception."""
        async with self.engine.begin() as connection:
            yield connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(**{_READ_ONLY: True})
            yield connection

    def insert(self, table: sa.Table) -> Any:
        """A dialect insert, so callers can use `on_conflict_do_nothing` / `on_conflict_do_update`."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    async def close(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver so write transactions can be IMMEDIATE: a deferred one that
        # reads first and writes later fails at once with SQLITE_BUSY when another writer got in between.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
