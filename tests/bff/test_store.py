"""The BFF's store contract, run against each implementation: SQLite, PostgreSQL and Redis."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from passportoffice.bff import BffStore, StoredSession, open_store
from passportoffice.bff.redis_store import RedisBffStore
from tests.support.databases import scratch_database

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("PASSPORTOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def postgres_store_url(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        yield url


async def _redis_reachable() -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bff.db'}"
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_store_url")
        return url
    return REDIS_URL


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[BffStore]:
    if store_url.startswith("sqlite"):
        opened = open_store(store_url)
    elif store_url.startswith("postgresql"):
        opened = open_store(store_url)
        from passportoffice.bff.sql_store import metadata

        db = await opened._database()  # type: ignore[attr-defined]
        async with db.write() as c:
            for table in metadata.sorted_tables:
                await c.execute(table.delete())
    else:
        try:
            await _redis_reachable()
        except OSError as exc:
            if os.environ.get("PASSPORTOFFICE_REQUIRE_REDIS") == "1":
                pytest.fail(f"Redis unreachable at {REDIS_URL}: {exc!r}")
            pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc!r}")
        # A prefix of its own: the server may be shared, nothing else in it is touched.
        opened = RedisBffStore(REDIS_URL, key_prefix=f"passportoffice-test:{secrets.token_hex(6)}:")
    try:
        yield opened
    finally:
        await opened.close()


def session(id_hash: str, sub: str = "alice", sid: str | None = "sid-1", now: int | None = None) -> StoredSession:
    now = int(time.time()) if now is None else now
    return StoredSession(id_hash, sub, sid, now, now, now + 3600, b"sealed-" + id_hash.encode())


async def test_a_pending_login_is_taken_once(store: BffStore) -> None:
    now = int(time.time())
    await store.put_login("state-a", b"a", now + 600)
    await store.put_login("state-b", b"b", now + 600)
    assert await store.take_login("state-b", now) == b"b"
    assert await store.take_login("state-a", now) == b"a"
    assert await store.take_login("state-a", now) is None
    assert await store.take_login("unknown", now) is None


async def test_an_expired_login_is_gone(store: BffStore) -> None:
    now = int(time.time())
    await store.put_login("old", b"x", now - 1)
    assert await store.take_login("old", now) is None


async def test_parallel_takes_of_one_login_have_one_winner(store: BffStore) -> None:
    now = int(time.time())
    await store.put_login("state", b"x", now + 600)
    results: list[bytes | None] = []

    async def take() -> None:
        results.append(await store.take_login("state", now))

    async with anyio.create_task_group() as tasks:
        for _ in range(8):
            tasks.start_soon(take)
    assert sorted(results, key=lambda value: value is None) == [b"x"] + [None] * 7


async def test_sessions_idle_and_absolute_lifetimes(store: BffStore) -> None:
    now = int(time.time())
    await store.add_session(session("s1", now=now))
    assert await store.get_session("s1", now + 10, idle_ttl=60) == session("s1", now=now)
    assert await store.get_session("s1", now + 60, idle_ttl=60) is None  # idle too long
    await store.touch_session("s1", now + 50)
    assert (await store.get_session("s1", now + 100, idle_ttl=60)) is not None
    assert await store.get_session("s1", now + 3600, idle_ttl=10**6) is None  # past its absolute end
    assert await store.get_session("unknown", now, idle_ttl=60) is None


async def test_update_is_a_compare_and_set_on_the_version(store: BffStore) -> None:
    now = int(time.time())
    await store.add_session(session("s1", now=now))
    assert await store.update_session("s1", 0, b"first", now) is True
    assert await store.update_session("s1", 0, b"second", now) is False
    stored = await store.get_session("s1", now, 60)
    assert stored is not None and (stored.sealed, stored.version) == (b"first", 1)


async def test_delete_by_sid_and_by_sub(store: BffStore) -> None:
    for id_hash, sub, sid in (("a1", "alice", "sid-1"), ("a2", "alice", "sid-2"), ("b1", "bob", "sid-3")):
        await store.add_session(session(id_hash, sub, sid))
    now = int(time.time())
    assert await store.delete_sessions(sid="sid-1", sub="bob") == 0  # sid and sub must both match
    assert await store.delete_sessions(sid="sid-1", sub="alice") == 1
    assert await store.get_session("a1", now, 60) is None
    assert await store.delete_sessions(sid=None, sub="alice") == 1
    assert await store.get_session("a2", now, 60) is None
    assert await store.get_session("b1", now, 60) is not None
    assert await store.delete_sessions(sid=None, sub=None) == 0
    await store.delete_session("b1")
    assert await store.get_session("b1", now, 60) is None


async def test_a_logout_token_jti_is_remembered_until_it_expires(store: BffStore) -> None:
    now = int(time.time())
    assert await store.remember_logout_token("jti-1", now + 120, now) is True
    assert await store.remember_logout_token("jti-1", now + 120, now) is False
    assert await store.remember_logout_token("jti-2", now + 120, now) is True


async def test_the_refresh_lease_has_one_holder(store: BffStore) -> None:
    now = int(time.time())
    await store.add_session(session("s1", now=now))
    assert await store.lock_refresh("s1", "one", now + 30, now) is True
    assert await store.lock_refresh("s1", "two", now + 30, now) is False
    await store.unlock_refresh("s1", "two")  # not the holder: no effect
    assert await store.lock_refresh("s1", "two", now + 30, now) is False
    await store.unlock_refresh("s1", "one")
    assert await store.lock_refresh("s1", "two", now + 30, now) is True


def test_open_store_refuses_unknown_urls() -> None:
    with pytest.raises(ValueError, match="session_store must be"):
        open_store("mysql://db/bff")
