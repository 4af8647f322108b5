"""Expired codes, sessions and tokens are cleaned up in short batches that let traffic through, and every
instance picks up keys published by another one (the provider's background tasks)."""

from __future__ import annotations

import asyncio

import anyio
import pytest
import sqlalchemy as sa

from passportoffice.storage.tables import (
    authorization_codes,
    authorization_requests,
    grants,
    login_throttle,
    sessions,
)
from passportoffice.web.app import clean_up, reload_keys_forever

pytestmark = pytest.mark.anyio


async def count(provider, table) -> int:
    async with provider.storage.db.read() as connection:
        return (await connection.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


async def park_requests(provider, number: int, expires_at: int) -> None:
    for index in range(number):
        await provider.storage.put_request(f"r{expires_at}-{index}", "spa", {"client_id": "spa"}, expires_at)


async def test_clean_up_removes_every_expired_row_however_many_batches_it_takes(flows, provider, clock):
    """More expired rows than one batch holds are all removed in one clean-up; live rows stay."""
    await flows.add_user()
    await flows.add_client()
    await flows.tokens()  # a session, a used code, a grant and its refresh token, throttle counters
    now = provider.now()
    await park_requests(provider, 25, expires_at=now + 10)
    await park_requests(provider, 3, expires_at=now + 100_000)
    clock.advance(provider.settings.session_ttl + 1)  # the session, the code and the 25 requests expire

    deleted = await clean_up(provider, batch_size=4)

    assert deleted == 25 + 1 + 1 + 2  # requests, the code, the session, the sign-in's two throttle counters
    assert await count(provider, login_throttle) == 0
    assert await count(provider, authorization_requests) == 3
    assert await count(provider, authorization_codes) == 0
    assert await count(provider, sessions) == 0
    assert await count(provider, grants) == 1  # its family lives until refresh_token_absolute_ttl
    assert await clean_up(provider, batch_size=4) == 0


async def test_clean_up_lets_writing_requests_in_between_its_batches(flows, provider, clock):
    """A clean-up of many rows holds no transaction or lock across batches: between two of its batches a
    refresh (which writes a rotation) completes, on SQLite's single-writer lock as on PostgreSQL."""
    await flows.add_user()
    await flows.add_client()
    tokens = await flows.tokens()
    await park_requests(provider, 40, expires_at=provider.now() + 1)
    clock.advance(2)
    events: list[str] = []
    delete_expired = provider.storage.delete_expired

    async def recording(now: int, batch_size: int, **options: int) -> int:
        deleted = await delete_expired(now, batch_size, **options)
        events.append(f"batch {deleted}")
        if len(events) == 2:
            response = await asyncio.wait_for(flows.refresh(tokens["refresh_token"]), timeout=20)
            assert response.status_code == 200, response.text
            events.append("refresh")
        return deleted

    provider.storage.delete_expired = recording
    assert await clean_up(provider, batch_size=5) == 40

    assert events == ["batch 5", "batch 5", "refresh"] + ["batch 5"] * 6 + ["batch 0"]


async def test_instances_reload_keys_published_elsewhere(provider, clock):
    """The reload task re-reads the key set, so a key that `keys rotate` published on another host is in this
    instance's JWKS long before it signs."""
    reloaded = anyio.Event()
    reload = provider.keyring.reload

    async def recording(now: int) -> None:
        await reload(now)
        reloaded.set()

    provider.keyring.reload = recording
    before = published_kids(provider)
    rotated = set(await another_instance_rotates(provider))
    assert not rotated & published_kids(provider)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reload_keys_forever, provider, 0)
        await reloaded.wait()
        tasks.cancel_scope.cancel()

    assert published_kids(provider) == before | rotated


def published_kids(provider) -> set[str]:
    keys = provider.keyring.keys()
    return {key.kid for key in keys}


async def another_instance_rotates(provider) -> list[str]:
    """`keys rotate` run by another process on the same database and secret."""
    from passportoffice.provider.keyring import KeyRing

    other = KeyRing(provider.storage, provider.key_for("signing-keys"), provider.settings)
    return await other.rotate(provider.now())


async def test_the_sealed_successor_is_kept_for_the_reuse_window_only(flows, provider, clock):
    """Within the window the clean-up keeps the sealed successor pair (a second tab still gets it back); after
    it, the clean-up drops it, and the old token presented again revokes its family as any reuse does."""
    from passportoffice.storage.tables import refresh_tokens

    await flows.add_user()
    await flows.add_client()
    tokens = await flows.tokens()
    successor = (await flows.refresh(tokens["refresh_token"])).json()
    await clean_up(provider)
    assert (await flows.refresh(tokens["refresh_token"])).json() == successor

    clock.advance(provider.settings.refresh_reuse_window)
    await clean_up(provider)
    async with provider.storage.db.read() as connection:
        row = (await connection.execute(
            sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == provider.hash(tokens["refresh_token"]))
        )).one()  # fmt: skip
    assert (row.replay_response, row.replay_until) == (None, None)
    assert row.successor_hash == provider.hash(successor["refresh_token"])
    replay = await flows.refresh(tokens["refresh_token"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert (await flows.refresh(successor["refresh_token"])).json()["error"] == "invalid_grant"
