"""Fixtures for the storage contract suite: one `storage` per backend, its schema made by the migrations.

The database fixtures (`database_url`, `postgres_server`, ...) come from tests/support/databases.py via
tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from passportoffice.storage.database import Database
from passportoffice.storage.sql import SqlStorage
from tests.support.databases import BACKENDS, prepare_database, scratch_database


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated yet (for SQLite, not even its directory exists)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'not' / 'yet' / 'po.db'}"
        return
    with scratch_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[SqlStorage]:
    """A `SqlStorage` over an empty database whose schema came from `migrate.upgrade`."""
    database = Database(database_url)
    await prepare_database(database, database_url)
    store = SqlStorage(database)
    try:
        yield store
    finally:
        await store.close()
