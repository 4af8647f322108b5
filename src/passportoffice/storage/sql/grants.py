"""Grants and their refresh token families: rotation as one compare-and-set (RFC 9700 §4.14.2)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from passportoffice.storage.records import Grant, RefreshToken, RefreshTokenState, Session, User
from passportoffice.storage.sql.auth import insert_grant
from passportoffice.storage.sql.base import SqlStore, as_tuple
from passportoffice.storage.tables import grants, refresh_tokens, sessions, users

_successor = refresh_tokens.alias("successor")


def _grant(mapping: Any, prefix: str = "") -> Grant:
    values = {name: mapping[prefix + name] for name in Grant.__slots__}
    values["audience"] = as_tuple(values["audience"])
    values["amr"] = as_tuple(values["amr"])
    return Grant(**values)


class SqlGrants(SqlStore):
    async def add_grant(self, grant: Grant, refresh_token: RefreshToken | None) -> None:
        async with self.db.write() as c:
            await insert_grant(c, grant, refresh_token)

    async def get_grant(self, grant_id: str) -> Grant | None:
        async with self.db.read() as c:
            row = (await c.execute(sa.select(grants).where(grants.c.id == grant_id))).first()
        return _grant(row._mapping) if row else None

    async def get_refresh_token(self, token_hash: str) -> RefreshTokenState | None:
        async with self.db.read() as c:
            row = (await c.execute(_GET_REFRESH_TOKEN, {"token_hash": token_hash})).first()
        if row is None:
            return None
        mapping = row._mapping
        token = RefreshToken(**{name: mapping[name] for name in RefreshToken.__slots__})
        user = None
        if mapping["user_id"] is not None:
            user = User(**{name: mapping["user_" + name] for name in User.__slots__})
        session = None
        if mapping["session_sid"] is not None:
            values = {name: mapping["session_" + name] for name in Session.__slots__}
            session = Session(**(values | {"amr": as_tuple(values["amr"])}))
        return RefreshTokenState(
            token=token,
            grant=_grant(mapping, "family_"),
            successor_rotated=mapping["successor_rotated_at"] is not None,
            user=user,
            session=session,
        )

    async def rotate_refresh_token(
        self,
        presented_hash: str,
        successor: RefreshToken,
        replay_response: bytes,
        replay_until: int,
        now: int,
    ) -> bool:
        async with self.db.write() as c:
            claimed = await c.execute(
                _ROTATE,
                {
                    "presented_hash": presented_hash,
                    "new_rotated_at": now,
                    "new_successor_hash": successor.token_hash,
                    "new_replay_response": replay_response,
                    "new_replay_until": replay_until,
                },
            )
            if claimed.rowcount != 1:
                return False
            await c.execute(_INSERT_REFRESH_TOKEN, asdict(successor))
        return True

    async def revoke_grant(self, grant_id: str, now: int) -> None:
        async with self.db.write() as c:
            await c.execute(
                grants.update().where(grants.c.id == grant_id, grants.c.revoked_at.is_(None)).values(revoked_at=now)
            )


# The refresh grant's statements, built once (building one costs more than running it on SQLite).
_GET_REFRESH_TOKEN = (
    sa.select(
        refresh_tokens,
        *(grants.c[name].label("family_" + name) for name in Grant.__slots__),
        _successor.c.rotated_at.label("successor_rotated_at"),
        *(users.c[name].label("user_" + name) for name in User.__slots__),
        *(sessions.c[name].label("session_" + name) for name in Session.__slots__),
    )
    .join(grants, grants.c.id == refresh_tokens.c.grant_id)
    .outerjoin(_successor, _successor.c.token_hash == refresh_tokens.c.successor_hash)
    .outerjoin(users, users.c.id == grants.c.user_id)
    .outerjoin(sessions, sessions.c.sid == grants.c.sid)
    .where(refresh_tokens.c.token_hash == sa.bindparam("token_hash"))
)
# The compare-and-set: only a token nobody rotated yet can be rotated, whatever runs in parallel.
_ROTATE = (
    refresh_tokens.update()
    .where(refresh_tokens.c.token_hash == sa.bindparam("presented_hash"), refresh_tokens.c.rotated_at.is_(None))
    .values(
        rotated_at=sa.bindparam("new_rotated_at"),
        successor_hash=sa.bindparam("new_successor_hash"),
        replay_response=sa.bindparam("new_replay_response"),
        replay_until=sa.bindparam("new_replay_until"),
    )
)
_INSERT_REFRESH_TOKEN = refresh_tokens.insert()
