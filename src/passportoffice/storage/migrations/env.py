"""Alembic environment: runs on the connection `storage.migrate` passes in, or opens its own.

`passportoffice.storage.migrate` is how the application migrates (no alembic.ini). The alembic
command line still works for developers, given `sqlalchemy.url` or PASSPORTOFFICE_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa
from alembic import context

from passportoffice.storage.database import Database
from passportoffice.storage.tables import metadata

config = context.config


def run_on(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot alter most of a table in place; batch mode rebuilds it (copy, drop, rename).
        render_as_batch=connection.dialect.name == "sqlite",
    )
    # Inside the caller's transaction this is a no-op: the whole upgrade commits or rolls back as one.
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_own_engine(url: str) -> None:
    # The async engine, because only async drivers (aiosqlite, asyncpg) are installed.
    database = Database(url, pool_size=1)
    try:
        async with database.write() as connection:
            await connection.run_sync(run_on)
    finally:
        await database.close()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("PASSPORTOFFICE_DATABASE_URL")
    if not url:
        raise RuntimeError("set sqlalchemy.url or PASSPORTOFFICE_DATABASE_URL")
    return url


given: sa.Connection | None = config.attributes.get("connection")
if given is not None:
    run_on(given)
elif context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_on_own_engine(_url()))
