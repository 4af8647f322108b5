"""SQLite runs inline on the event loop: waiting for the write lock must wait on the loop, not in SQLite.

Another connection (here a second process's, simulated by a plain sqlite3 connection) holds the write
lock; our write must neither fail at once nor freeze the event loop, and must go through once the lock
is released. Past `SQLITE_LOCK_TIMEOUT` it fails with a database error (which the web layer turns into
a 503), never a hang.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa

from passportoffice.storage import database as database_module
from passportoffice.storage.database import Database
from passportoffice.storage.tables import revoked_access_tokens
from tests.support.databases import prepare_database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "po.db"
    url = f"sqlite+aiosqlite:///{path}"
    database = Database(url)
    await prepare_database(database, url)
    try:
        yield database, path
    finally:
        await database.close()


async def _count(database: Database) -> int:
    async with database.read() as c:
        return int((await c.execute(sa.select(sa.func.count()).select_from(revoked_access_tokens))).scalar_one())


async def test_a_write_waits_on_the_event_loop_for_another_connections_lock(
    sqlite_database: tuple[Database, Path],
) -> None:
    database, path = sqlite_database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ('theirs', 1)")
    finished = anyio.Event()

    async def write() -> None:
        async with database.write() as c:
            await c.execute(revoked_access_tokens.insert(), {"jti": "ours", "expires_at": 2})
        finished.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(write)
        await anyio.sleep(0.05)
        # The writer is waiting, and the loop is free: reads still answer (from before the other's commit).
        assert not finished.is_set()
        assert await _count(database) == 0
        other.execute("COMMIT")
        await finished.wait()
    other.close()
    async with database.read() as c:
        rows = (await c.execute(sa.select(revoked_access_tokens.c.jti).order_by("jti"))).scalars().all()
    assert rows == ["ours", "theirs"]


async def test_a_write_gives_up_with_a_database_error_after_the_lock_timeout(
    sqlite_database: tuple[Database, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, path = sqlite_database
    monkeypatch.setattr(database_module, "SQLITE_LOCK_TIMEOUT", 0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            async with database.write() as c:
                await c.execute(revoked_access_tokens.insert(), {"jti": "ours", "expires_at": 2})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await _count(database) == 0
    # The connection that gave up is usable again: its busy timeout and transaction state were restored.
    async with database.write() as c:
        await c.execute(revoked_access_tokens.insert(), {"jti": "later", "expires_at": 3})
    assert await _count(database) == 1


async def test_a_failed_write_transaction_rolls_back_everything(sqlite_database: tuple[Database, Path]) -> None:
    database, _ = sqlite_database
    with pytest.raises(sa.exc.IntegrityError):
        async with database.write() as c:
            await c.execute(revoked_access_tokens.insert(), {"jti": "one", "expires_at": 1})
            await c.execute(revoked_access_tokens.insert(), {"jti": "one", "expires_at": 1})
    assert await _count(database) == 0


async def test_a_database_that_cannot_be_read_fails_with_a_database_error(tmp_path: Path) -> None:
    """Errors of the statements sent straight to the driver are SQLAlchemy's (the web layer's 503s)."""
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not an SQLite file" * 100)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(sa.exc.DBAPIError):
            async with database.read() as c:
                await c.execute(sa.text("SELECT 1"))
    finally:
        await database.close()
