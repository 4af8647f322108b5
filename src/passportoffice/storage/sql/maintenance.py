"""Clean-up of expired rows in small batches, so it never holds a long lock over live traffic."""

from __future__ import annotations

import sqlalchemy as sa

from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import (
    authorization_codes,
    authorization_requests,
    grants,
    login_throttle,
    refresh_tokens,
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
)


class SqlMaintenance(SqlStore):
    async def delete_expired(self, now: int, batch_size: int, throttle_window: int | None = None) -> int:
        deleted = 0
        for table in _EXPIRING:
            key = next(iter(table.primary_key.columns))
            batch = sa.select(key).where(table.c.expires_at <= now).limit(batch_size).scalar_subquery()
            async with self.db.write() as c:
                result = await c.execute(table.delete().where(key.in_(batch)))
            deleted += result.rowcount
        # A rotated token's sealed successor response is kept for the reuse window only; the token row
        # itself stays (for reuse detection) until its family expires.
        passed = (
            sa.select(refresh_tokens.c.token_hash)
            .where(refresh_tokens.c.replay_until <= now)
            .limit(batch_size)
            .scalar_subquery()
        )
        async with self.db.write() as c:
            result = await c.execute(
                refresh_tokens.update()
                .where(refresh_tokens.c.token_hash.in_(passed))
                .values(replay_response=None, replay_until=None)
            )
        deleted += result.rowcount
        if throttle_window is not None:
            # A counter whose window is over would restart at 1 anyway; without this, every username an
            # attacker sprays would leave a row behind for ever.
            over = (
                sa.select(login_throttle.c.key)
                .where(login_throttle.c.window_started <= now - throttle_window)
                .limit(batch_size)
                .scalar_subquery()
            )
            async with self.db.write() as c:
                result = await c.execute(login_throttle.delete().where(login_throttle.c.key.in_(over)))
            deleted += result.rowcount
        return deleted

    async def ping(self) -> None:
        async with self.db.read() as c:
            await c.execute(sa.text("SELECT 1"))
