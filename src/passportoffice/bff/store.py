"""The BFF's server-side state behind one small interface: sessions, pending logins, seen logout tokens.

Implementations: `SqlBffStore` (SQLite for one instance, PostgreSQL for several) and `RedisBffStore`
(several instances). `open_store(url)` picks one from the URL. Sessions are looked up by a keyed hash
of the cookie value, never the value itself; their tokens are an opaque encrypted blob (`sealing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["BffStore", "StoredSession", "open_store"]


@dataclass(frozen=True, slots=True)
class StoredSession:
    id_hash: str
    sub: str
    sid: str | None  # the provider's session id (ID token `sid`), for back-channel logout
    created_at: int
    last_seen_at: int
    expires_at: int  # absolute end
    sealed: bytes  # tokens and display claims, encrypted (sealing.seal)
    version: int = 0  # bumped on every token update: a compare-and-set for concurrent refreshes


class BffStore(Protocol):
    async def put_login(self, state: str, sealed: bytes, expires_at: int) -> None: ...
    async def take_login(self, state: str, now: int) -> bytes | None:
        """The pending login for `state`, removed in the same step: a second callback finds nothing (K14)."""
        ...

    async def add_session(self, session: StoredSession) -> None: ...
    async def get_session(self, id_hash: str, now: int, idle_ttl: int) -> StoredSession | None:
        """The live session: not past its absolute end, and seen within `idle_ttl`."""
        ...

    async def touch_session(self, id_hash: str, now: int) -> None: ...
    async def update_session(self, id_hash: str, version: int, sealed: bytes, now: int) -> bool:
        """Replace the tokens if the session is still at `version`; False if another update won."""
        ...

    async def delete_session(self, id_hash: str) -> None: ...
    async def delete_sessions(self, *, sid: str | None, sub: str | None) -> int:
        """End every session with this provider `sid` (and `sub`, when given), or of `sub` without a sid."""
        ...

    async def remember_logout_token(self, jti: str, expires_at: int, now: int) -> bool:
        """True the first time a logout token's jti is seen before it expires; False for a replay."""
        ...

    async def lock_refresh(self, id_hash: str, owner: str, until: int, now: int) -> bool:
        """Take the session's refresh lease (across instances); False while another holder has it."""
        ...

    async def unlock_refresh(self, id_hash: str, owner: str) -> None: ...
    async def close(self) -> None: ...


def open_store(url: str) -> BffStore:
    if url.startswith(("redis://", "rediss://", "unix://")):
        from passportoffice.bff.redis_store import RedisBffStore

        return RedisBffStore(url)
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        from passportoffice.bff.sql_store import SqlBffStore

        return SqlBffStore(url)
    raise ValueError("session_store must be sqlite+aiosqlite://, postgresql+asyncpg:// or redis:// URL")
