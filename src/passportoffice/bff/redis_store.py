"""The BFF's store on Redis (redis-py's asyncio client), for several instances without a SQL database.

Every key expires by itself (Redis TTLs), so nothing needs cleaning. A session is one hash; the sets
`sid:<sid>` and `sub:<sub>` index it for back-channel logout. Single-use and compare-and-set steps are
single Redis commands or Lua scripts, so they are atomic across instances.
"""

from __future__ import annotations

import redis.asyncio as redis

from passportoffice.bff.store import StoredSession

__all__ = ["RedisBffStore"]

_PREFIX = "passportoffice:bff:"

# Compare-and-set on the session's version (KEYS[1] = session; ARGV = version, sealed, now).
_UPDATE = """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sealed', ARGV[2], 'version', tonumber(ARGV[1]) + 1, 'last_seen_at', ARGV[3])
return 1
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBffStore:
    def __init__(self, url: str, *, key_prefix: str = _PREFIX) -> None:
        self._redis: redis.Redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = key_prefix

    async def put_login(self, state: str, sealed: bytes, expires_at: int) -> None:
        await self._redis.set(self._prefix + "login:" + state, sealed, exat=expires_at)

    async def take_login(self, state: str, now: int) -> bytes | None:
        value = await self._redis.getdel(self._prefix + "login:" + state)
        return None if value is None else _bytes(value)

    async def add_session(self, session: StoredSession) -> None:
        key = self._prefix + "session:" + session.id_hash
        mapping: dict[str | bytes, bytes | str | int] = {
            "sub": session.sub,
            "sid": session.sid or "",
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "expires_at": session.expires_at,
            "sealed": session.sealed,
            "version": session.version,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
            pipe.expireat(key, session.expires_at)
            for index in self._indexes(session.sid, session.sub):
                pipe.sadd(index, session.id_hash)
                # Sessions share one absolute lifetime, so the newest one's end is the index's end.
                pipe.expireat(index, session.expires_at)
            await pipe.execute()

    async def get_session(self, id_hash: str, now: int, idle_ttl: int) -> StoredSession | None:
        values = await self._redis.hgetall(self._prefix + "session:" + id_hash)
        if not values:
            return None
        session = StoredSession(
            id_hash=id_hash,
            sub=_text(values[b"sub"]),
            sid=_text(values[b"sid"]) or None,
            created_at=int(values[b"created_at"]),
            last_seen_at=int(values[b"last_seen_at"]),
            expires_at=int(values[b"expires_at"]),
            sealed=_bytes(values[b"sealed"]),
            version=int(values[b"version"]),
        )
        if session.expires_at <= now or session.last_seen_at <= now - idle_ttl:
            return None
        return session

    async def touch_session(self, id_hash: str, now: int) -> None:
        key = self._prefix + "session:" + id_hash
        if await self._redis.exists(key):
            await self._redis.hset(key, "last_seen_at", now)

    async def update_session(self, id_hash: str, version: int, sealed: bytes, now: int) -> bool:
        updated = await self._redis.eval(_UPDATE, 1, self._prefix + "session:" + id_hash, str(version), sealed, now)
        return bool(updated == 1)

    async def delete_session(self, id_hash: str) -> None:
        await self._redis.delete(self._prefix + "session:" + id_hash)

    async def delete_sessions(self, *, sid: str | None, sub: str | None) -> int:
        if sid is not None:
            index = self._prefix + "sid:" + sid
        elif sub is not None:
            index = self._prefix + "sub:" + sub
        else:
            return 0
        deleted = 0
        for member in await self._redis.smembers(index):
            key = self._prefix + "session:" + _text(member)
            if sid is not None and sub is not None:
                owner = await self._redis.hget(key, "sub")
                if owner is not None and _text(owner) != sub:
                    continue
            deleted += int(await self._redis.delete(key))
        return deleted

    async def remember_logout_token(self, jti: str, expires_at: int, now: int) -> bool:
        first = await self._redis.set(self._prefix + "logout-jti:" + jti, 1, exat=max(expires_at, now + 1), nx=True)
        return bool(first)

    async def lock_refresh(self, id_hash: str, owner: str, until: int, now: int) -> bool:
        key = self._prefix + "refresh-lock:" + id_hash
        taken = await self._redis.set(key, owner, exat=max(until, now + 1), nx=True)
        return bool(taken)

    async def unlock_refresh(self, id_hash: str, owner: str) -> None:
        await self._redis.eval(_UNLOCK, 1, self._prefix + "refresh-lock:" + id_hash, owner)

    async def close(self) -> None:
        await self._redis.aclose()

    def _indexes(self, sid: str | None, sub: str | None) -> list[str]:
        keys = []
        if sid is not None:
            keys.append(self._prefix + "sid:" + sid)
        if sub is not None:
            keys.append(self._prefix + "sub:" + sub)
        return keys


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
