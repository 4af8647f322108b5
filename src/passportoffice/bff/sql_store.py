"""The BFF's store on SQLite (one instance) or PostgreSQL (several), through SQLAlchemy Core.

Its tables live in the BFF's own database, created on first use (`create_all`); they are not part of
the provider's schema or its Alembic migrations, since BFF and provider are deployed apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa

from passportoffice.bff.store import StoredSession
from passportoffice.storage.database import Database

__all__ = ["SqlBffStore", "metadata"]

metadata = sa.MetaData()

bff_sessions = sa.Table(
    "bff_sessions",
    metadata,
    sa.Column("id_hash", sa.String(128), primary_key=True),
    sa.Column("sub", sa.String(255), nullable=False, index=True),
    sa.Column("sid", sa.String(255), index=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_seen_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("refresh_owner", sa.String(64)),
    sa.Column("refresh_until", sa.BigInteger),
)

bff_logins = sa.Table(
    "bff_logins",
    metadata,
    sa.Column("state_hash", sa.String(128), primary_key=True),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

bff_logout_tokens = sa.Table(
    "bff_logout_tokens",
    metadata,
    sa.Column("jti", sa.String(255), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

_SESSION_FIELDS = StoredSession.__slots__


class SqlBffStore:
    def __init__(self, url: str) -> None:
        self._db = Database(url)
        self._ready = False
        self._lock = anyio.Lock()
        if self._db.is_sqlite and self._db.url.database:
            Path(self._db.url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    async def _database(self) -> Database:
        if not self._ready:
            async with self._lock:
                if not self._ready:
                    async with self._db.write() as c:
                        await c.run_sync(metadata.create_all)
                    self._ready = True
        return self._db

    async def put_login(self, state: str, sealed: bytes, expires_at: int) -> None:
        db = await self._database()
        async with db.write() as c:
            await c.execute(bff_logins.insert().values(state_hash=state, sealed=sealed, expires_at=expires_at))

    async def take_login(self, state: str, now: int) -> bytes | None:
        db = await self._database()
        async with db.write() as c:
            row = (await c.execute(sa.select(bff_logins).where(bff_logins.c.state_hash == state))).first()
            if row is None:
                return None
            deleted = await c.execute(bff_logins.delete().where(bff_logins.c.state_hash == state))
            # Purge what has expired while we hold the write lock anyway: the table stays small.
            await c.execute(bff_logins.delete().where(bff_logins.c.expires_at <= now))
        if deleted.rowcount != 1 or row.expires_at <= now:
            return None
        sealed: bytes = row.sealed
        return sealed

    async def add_session(self, session: StoredSession) -> None:
        db = await self._database()
        async with db.write() as c:
            await c.execute(bff_sessions.insert().values(**{name: getattr(session, name) for name in _SESSION_FIELDS}))
            await c.execute(bff_sessions.delete().where(bff_sessions.c.expires_at <= session.created_at))

    async def get_session(self, id_hash: str, now: int, idle_ttl: int) -> StoredSession | None:
        db = await self._database()
        query = sa.select(*(bff_sessions.c[name] for name in _SESSION_FIELDS)).where(
            bff_sessions.c.id_hash == id_hash,
            bff_sessions.c.expires_at > now,
            bff_sessions.c.last_seen_at > now - idle_ttl,
        )
        async with db.read() as c:
            row = (await c.execute(query)).first()
        return _session(row) if row else None

    async def touch_session(self, id_hash: str, now: int) -> None:
        db = await self._database()
        async with db.write() as c:
            await c.execute(bff_sessions.update().where(bff_sessions.c.id_hash == id_hash).values(last_seen_at=now))

    async def update_session(self, id_hash: str, version: int, sealed: bytes, now: int) -> bool:
        db = await self._database()
        async with db.write() as c:
            result = await c.execute(
                bff_sessions.update()
                .where(bff_sessions.c.id_hash == id_hash, bff_sessions.c.version == version)
                .values(sealed=sealed, version=version + 1, last_seen_at=now)
            )
        return bool(result.rowcount == 1)

    async def delete_session(self, id_hash: str) -> None:
        db = await self._database()
        async with db.write() as c:
            await c.execute(bff_sessions.delete().where(bff_sessions.c.id_hash == id_hash))

    async def delete_sessions(self, *, sid: str | None, sub: str | None) -> int:
        db = await self._database()
        if sid is not None:
            where = bff_sessions.c.sid == sid
            if sub is not None:
                where = sa.and_(where, bff_sessions.c.sub == sub)
        elif sub is not None:
            where = bff_sessions.c.sub == sub
        else:
            return 0
        async with db.write() as c:
            result = await c.execute(bff_sessions.delete().where(where))
        return int(result.rowcount)

    async def remember_logout_token(self, jti: str, expires_at: int, now: int) -> bool:
        db = await self._database()
        async with db.write() as c:
            await c.execute(bff_logout_tokens.delete().where(bff_logout_tokens.c.expires_at <= now))
            result = await c.execute(
                db.insert(bff_logout_tokens).values(jti=jti, expires_at=expires_at).on_conflict_do_nothing()
            )
        return bool(result.rowcount == 1)

    async def lock_refresh(self, id_hash: str, owner: str, until: int, now: int) -> bool:
        db = await self._database()
        async with db.write() as c:
            result = await c.execute(
                bff_sessions.update()
                .where(
                    bff_sessions.c.id_hash == id_hash,
                    sa.or_(bff_sessions.c.refresh_until.is_(None), bff_sessions.c.refresh_until <= now),
                )
                .values(refresh_owner=owner, refresh_until=until)
            )
        return bool(result.rowcount == 1)

    async def unlock_refresh(self, id_hash: str, owner: str) -> None:
        db = await self._database()
        async with db.write() as c:
            await c.execute(
                bff_sessions.update()
                .where(bff_sessions.c.id_hash == id_hash, bff_sessions.c.refresh_owner == owner)
                .values(refresh_owner=None, refresh_until=None)
            )

    async def close(self) -> None:
        await self._db.close()


def _session(row: Any) -> StoredSession:
    return StoredSession(**{name: row._mapping[name] for name in _SESSION_FIELDS})
