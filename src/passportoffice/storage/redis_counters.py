"""Optional Redis for the hot, short-lived security counters, shared by every instance (`redis_url`).

Login throttling counts two attempts per sign-in and gives them back on success, and every
`private_key_jwt` assertion leaves its jti until it expires: small writes that live minutes, which
Redis takes off the database. Everything else stays in the database.

Each operation is one Lua script, which Redis runs atomically: the count and the limit check are one
step, so parallel attempts can never evaluate more passwords than the limit (K30), and of parallel
uses of one assertion exactly one is accepted (K26). Windows and expiries are compared with the
provider's clock (`now`), exactly as the SQL implementation does, so both pass one contract suite;
Redis's own expiry (EXPIRE, SET EX) only lets the keys go once they can matter no more.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from passportoffice.storage.database import Database
from passportoffice.storage.sql import SqlStorage

__all__ = ["RedisCounters", "SqlStorageWithRedisCounters"]

PREFIX = "passportoffice:"
# A Redis that does not answer must give a 503 quickly, like the database (storage.database).
_TIMEOUT = 5.0

# KEYS[1] = {failures, window_started}; ARGV = limit, window, now. 1 = counted, 0 = locked out.
_RESERVE = """
local state = redis.call('HMGET', KEYS[1], 'failures', 'window_started')
local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local failures, started = tonumber(state[1]), tonumber(state[2])
if started == nil or started <= now - window then
  redis.call('HSET', KEYS[1], 'failures', 1, 'window_started', now)
  redis.call('EXPIRE', KEYS[1], window + 1)
  return 1
end
if failures >= limit then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'failures', 1)
return 1
"""

_RELEASE = """
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures'))
if failures ~= nil and failures > 0 then
  redis.call('HINCRBY', KEYS[1], 'failures', -1)
end
return 0
"""

# KEYS[1] = the assertion's expiry; ARGV = expires_at, now. 1 = first sighting, 0 = a replay.
_REMEMBER = """
local seen = tonumber(redis.call('GET', KEYS[1]))
local expires_at, now = tonumber(ARGV[1]), tonumber(ARGV[2])
if seen ~= nil and seen > now then
  return 0
end
redis.call('SET', KEYS[1], expires_at, 'EX', math.max(expires_at - now, 1))
return 1
"""


class RedisCounters:
    """`ThrottleStore` and `AssertionStore` on Redis."""

    def __init__(self, url: str, *, prefix: str = PREFIX) -> None:
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
        )
        self._prefix = prefix
        self._reserve = self.client.register_script(_RESERVE)
        self._release = self.client.register_script(_RELEASE)
        self._remember = self.client.register_script(_REMEMBER)

    async def reserve_login_attempt(self, key: str, limit: int, window: int, now: int) -> bool:
        return bool(await self._run(self._reserve, "throttle:" + key, limit, window, now))

    async def release_login_attempt(self, key: str) -> None:
        await self._run(self._release, "throttle:" + key)

    async def remember_assertion(self, key: str, expires_at: int, now: int) -> bool:
        return bool(await self._run(self._remember, "assertion:" + key, expires_at, now))

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()

    async def _run(self, script: Any, key: str, *arguments: int) -> Any:
        return await self._call(script(keys=[self._prefix + key], args=list(arguments)))

    async def _call(self, pending: Any) -> Any:
        try:
            return await pending
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The web layer answers ConnectionError with 503 temporarily_unavailable, as for the database.
            raise ConnectionError(f"Redis: {type(exc).__name__}") from exc


class SqlStorageWithRedisCounters(SqlStorage):
    """The SQL storage, with login throttling and seen assertions on Redis instead of in tables."""

    def __init__(self, db: Database, counters: RedisCounters) -> None:
        super().__init__(db)
        self.counters = counters

    async def reserve_login_attempt(self, key: str, limit: int, window: int, now: int) -> bool:
        return await self.counters.reserve_login_attempt(key, limit, window, now)

    async def release_login_attempt(self, key: str) -> None:
        await self.counters.release_login_attempt(key)

    async def remember_assertion(self, key: str, expires_at: int, now: int) -> bool:
        return await self.counters.remember_assertion(key, expires_at, now)

    async def ping(self) -> None:
        await super().ping()
        await self.counters.ping()

    async def close(self) -> None:
        try:
            await self.counters.close()
        finally:
            await super().close()
