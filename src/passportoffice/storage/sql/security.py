"""Security counters: revoked access tokens, seen client assertions, login throttling."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import login_throttle, revoked_access_tokens, used_client_assertions


class SqlSecurityCounters(SqlStore):
    # Built on first use (the insert is the dialect's own, for ON CONFLICT), then reused: every login
    # reserves two attempts, and building this statement cost more than running it.
    _reserve_statement: Any = None

    async def revoke_access_token(self, jti: str, expires_at: int) -> None:
        statement = self.db.insert(revoked_access_tokens).values(jti=jti, expires_at=expires_at)
        async with self.db.write() as c:
            await c.execute(statement.on_conflict_do_nothing())

    async def is_access_token_revoked(self, jti: str) -> bool:
        query = sa.select(revoked_access_tokens.c.jti).where(revoked_access_tokens.c.jti == jti)
        async with self.db.read() as c:
            return (await c.execute(query)).first() is not None

    async def remember_assertion(self, key: str, expires_at: int, now: int) -> bool:
        async with self.db.write() as c:
            # An expired entry may be reused: its assertion can no longer be accepted anyway.
            await c.execute(
                used_client_assertions.delete().where(
                    used_client_assertions.c.key == key, used_client_assertions.c.expires_at <= now
                )
            )
            inserted = await c.execute(
                self.db.insert(used_client_assertions)
                .values(key=key, expires_at=expires_at)
                .on_conflict_do_nothing()
            )
        return bool(inserted.rowcount)

    async def reserve_login_attempt(self, key: str, limit: int, window: int, now: int) -> bool:
        statement = self._reserve_statement
        if statement is None:
            statement = self._reserve_statement = _reserve_login_attempt(self.db.insert(login_throttle))
        parameters = {"throttle_key": key, "now": now, "window_start": now - window, "limit": limit}
        async with self.db.write() as c:
            result = await c.execute(statement, parameters)
        return bool(result.rowcount)

    async def release_login_attempt(self, key: str) -> None:
        async with self.db.write() as c:
            await c.execute(_RELEASE_LOGIN_ATTEMPT, {"throttle_key": key})


def _reserve_login_attempt(insert: Any) -> Any:
    table = login_throttle
    window_over = table.c.window_started <= sa.bindparam("window_start")
    counted = insert.values(key=sa.bindparam("throttle_key"), failures=1, window_started=sa.bindparam("now"))
    return counted.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": sa.case((window_over, 1), else_=table.c.failures + 1),
            "window_started": sa.case((window_over, sa.bindparam("now")), else_=table.c.window_started),
        },
        # The limit is checked inside the same statement that counts: parallel requests
        # cannot all read "below the limit" and then all proceed (K30).
        where=sa.or_(window_over, table.c.failures < sa.bindparam("limit")),
    )


_RELEASE_LOGIN_ATTEMPT = (
    login_throttle.update()
    .where(login_throttle.c.key == sa.bindparam("throttle_key"), login_throttle.c.failures > 0)
    .values(failures=login_throttle.c.failures - 1)
)
