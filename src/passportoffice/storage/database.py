"""The database connection: SQLite run inline on the event loop, PostgreSQL through asyncpg.

SQLite is an embedded library, not a server: a statement on an indexed table in the page cache takes
a few microseconds, less than handing it to a worker thread and back (what aiosqlite does, several
times per statement). So SQLite statements run inline, on the event loop, through the synchronous
driver. What could block the loop for long is waiting for the write lock, so that wait is never done
inside SQLite: `BEGIN IMMEDIATE` is tried without a busy timeout and, when another connection (another
process, or a transaction of this one suspended at an `await`) holds the lock, retried after an async
sleep, up to `SQLITE_LOCK_TIMEOUT`. Writers of one process thus queue on the event loop instead of
spinning in SQLite's busy handler (which sleeps up to 100 ms between tries, the cause of multi-second
tail latencies under concurrent writes).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["SQLITE_LOCK_TIMEOUT", "Connection", "Database"]

T = TypeVar("T")

# How long a write waits for SQLite's write lock before failing (the error becomes a 503).
SQLITE_LOCK_TIMEOUT = 30.0
# While waiting, retry after this long, doubling up to the maximum: short, as writes here take microseconds.
_LOCK_RETRY_FIRST = 0.0005
_LOCK_RETRY_MAX = 0.02
# Reads in WAL mode never wait for writers; this only bounds rare cases (WAL recovery by another process).
_SQLITE_BUSY_TIMEOUT_MS = 1000
# Idle SQLite connections kept open; more are opened when needed (never waited for) and closed after.
_SQLITE_IDLE_CONNECTIONS = 8


class Connection(Protocol):
    """What the stores use of a connection inside `Database.read()` or `Database.write()`."""

    async def execute(self, statement: sa.Executable, parameters: Any = None) -> sa.CursorResult[Any]: ...

    async def run_sync(self, function: Callable[[sa.Connection], T]) -> T: ...


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = sa.make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._sqlite: sa.Engine | None = None
        self._engine: AsyncEngine | None = None
        if self.is_sqlite:
            self._sqlite = _sqlite_engine(self.url)
        else:
            # A down database must give a 503 quickly, not a hang (connect and pool waits are bounded).
            self._engine = create_async_engine(
                self.url,
                hide_parameters=True,
                pool_pre_ping=True,
                connect_args={"timeout": 5, "command_timeout": 30},
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_timeout=10,
            )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """One transaction; commits on success, rolls back on any exception."""
        if self._sqlite is None:
            assert self._engine is not None
            async with self._engine.begin() as connection:
                yield _AsyncConnection(connection)
            return
        with self._sqlite.connect() as connection:
            await _begin_immediate(_driver_connection(connection))
            transaction = connection.begin()  # SQLAlchemy's side: the driver's BEGIN is already done
            yield _InlineConnection(connection)
            transaction.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A read transaction: one consistent snapshot, never the write lock."""
        if self._sqlite is None:
            assert self._engine is not None
            async with self._engine.connect() as connection:
                yield _AsyncConnection(connection)
            return
        with self._sqlite.connect() as connection:
            _driver_execute(_driver_connection(connection), "BEGIN")
            connection.begin()  # rolled back (ended) when the connection is returned
            yield _InlineConnection(connection)

    def insert(self, table: sa.Table) -> Any:
        """A dialect insert, so callers can use `on_conflict_do_nothing` / `on_conflict_do_update`."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.dispose()
        if self._engine is not None:
            await self._engine.dispose()


class _InlineConnection:
    __slots__ = ("_connection",)

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    async def execute(self, statement: sa.Executable, parameters: Any = None) -> sa.CursorResult[Any]:
        return self._connection.execute(statement, parameters)

    async def run_sync(self, function: Callable[[sa.Connection], T]) -> T:
        return function(self._connection)


class _AsyncConnection:
    __slots__ = ("_connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def execute(self, statement: sa.Executable, parameters: Any = None) -> sa.CursorResult[Any]:
        return await self._connection.execute(statement, parameters)

    async def run_sync(self, function: Callable[[sa.Connection], T]) -> T:
        return await self._connection.run_sync(function)


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    # The URL names aiosqlite (what the settings document); inline, the standard library driver is used.
    # hide_parameters: an error message or log line never carries the values bound to a statement
    # (password hashes, token hashes, sealed replay responses).
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}, "hide_parameters": True}
    if url.database not in (None, "", ":memory:"):
        # Never wait for a free connection (that would block the event loop): open another one.
        options.update(poolclass=sa.pool.QueuePool, pool_size=_SQLITE_IDLE_CONNECTIONS, max_overflow=-1)
    engine = sa.create_engine(url.set(drivername="sqlite+pysqlite"), **options)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver: reads begin DEFERRED, writes IMMEDIATE (`Database`), so a
        # write never upgrades a read lock halfway and fails with SQLITE_BUSY.
        dbapi_connection.isolation_level = None
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    return engine


def _driver_connection(connection: sa.Connection) -> sqlite3.Connection:
    driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    return driver


async def _begin_immediate(driver: sqlite3.Connection) -> None:
    """Take the write lock without ever waiting inside SQLite (which would block the event loop)."""
    deadline = time.monotonic() + SQLITE_LOCK_TIMEOUT
    delay = _LOCK_RETRY_FIRST
    _driver_execute(driver, "PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            await anyio.sleep(delay)
            delay = min(delay * 2, _LOCK_RETRY_MAX)
    finally:
        _driver_execute(driver, f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")


def _driver_execute(driver: sqlite3.Connection, sql: str) -> None:
    # Straight to the driver (cheaper than through SQLAlchemy), but failing like SQLAlchemy would: the
    # web layer answers its database errors with a 503, never a stack trace.
    try:
        driver.execute(sql)
    except sqlite3.Error as exc:
        raise sa.exc.OperationalError(sql, None, exc) from exc
