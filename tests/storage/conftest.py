"""Fixtures for the storage contract suite: one `storage` per backend, its schema made by the migrations.

The database fixtures (`database_url`, `postgres_server`, ...) come from tests/support/databases.py via
tests/conftest.py.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from passportoffice.storage.database import Database
from passportoffice.storage.interface import AssertionStore, ThrottleStore
from passportoffice.storage.redis_counters import RedisCounters
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


class Counters(ThrottleStore, AssertionStore, Protocol):
    """What the counters' contract tests need: login throttling and seen assertions."""


@pytest.fixture(params=[*BACKENDS, pytest.param("redis", marks=pytest.mark.redis)])
def counters_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the counters live: a SQLite file, the session's PostgreSQL database, or Redis."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'po.db'}"
    url: str = request.getfixturevalue("postgres_url" if request.param == "postgres" else "redis_server")
    return url


@pytest.fixture
async def counters(counters_url: str) -> AsyncIterator[Counters]:
    """The security counters on each backend: the database's tables, or Redis (`redis_url`)."""
    if not counters_url.startswith("redis"):
        database = Database(counters_url)
        await prepare_database(database, counters_url)
        storage = SqlStorage(database)
        try:
            yield storage
        finally:
            await storage.close()
        return
    # A namespace of its own, so tests running at once (and earlier runs) never share a key.
    prefix = f"passportoffice-test:{secrets.token_hex(6)}:"
    store = RedisCounters(counters_url, prefix=prefix)
    try:
        yield store
    finally:
        async for key in store.client.scan_iter(match=prefix + "*"):
            await store.client.delete(key)
        await store.close()
