"""Clean-up of expired rows in small batches, so it never holds a long lock over live traffic."""

from __future__ import annotations

import sqlalchemy as sa

from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import (
    authorization_codes,
    authorization_requests,
    grants,
    logout_notifications,
    revoked_access_tokens,
    sessions,
    used_client_assertions,
)

# Refresh tokens go with their grant (ON DELETE CASCADE) and are otherwise kept for reuse detection.
_EXPIRING = (
    authorization_requests,
    authorization_codes,
    revoked_access_tokens,
    used_client_assertions,
    sessions,
    grants,
    logout_notifications,
)


class SqlMaintenance(SqlStore):
    async def delete_expired(self, now: int, batch_size: int) -> int:
        deleted = 0
        for table in _EXPIRING:
            key = next(iter(table.primary_key.columns))
            batch = sa.select(key).where(table.c.expires_at <= now).limit(batch_size).scalar_subquery()
            async with self.db.write() as c:
                result = await c.execute(table.delete().where(key.in_(batch)))
            deleted += result.rowcount
        return deleted

    async def ping(self) -> None:
        async with self.db.read() as c:
            await c.execute(sa.text("SELECT 1"))
