"""Signing keys, published and rotated through the database so every instance shares them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from passportoffice.storage.records import SigningKey
from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import signing_keys


class SqlKeys(SqlStore):
    async def add_key(self, key: SigningKey) -> None:
        async with self.db.write() as c:
            await c.execute(signing_keys.insert().values(**asdict(key)))

    async def list_keys(self, now: int) -> Sequence[SigningKey]:
        query = (
            sa.select(signing_keys)
            .where(sa.or_(signing_keys.c.expires_at.is_(None), signing_keys.c.expires_at > now))
            .order_by(signing_keys.c.created_at, signing_keys.c.kid)
        )
        async with self.db.read() as c:
            rows = (await c.execute(query)).all()
        return [_key(r) for r in rows]

    async def retire_keys(self, kids: Sequence[str], retired_at: int, expires_at: int) -> None:
        async with self.db.write() as c:
            await c.execute(
                signing_keys.update()
                .where(signing_keys.c.kid.in_(list(kids)), signing_keys.c.retired_at.is_(None))
                .values(retired_at=retired_at, expires_at=expires_at)
            )


def _key(row: Any) -> SigningKey:
    return SigningKey(**row._mapping)
