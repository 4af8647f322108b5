"""IdP sessions: the browser's login at the provider, and the grants bound to it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from passportoffice.storage.records import Session
from passportoffice.storage.sql.base import SqlStore, as_tuple
from passportoffice.storage.tables import grants, sessions, users


def _session(row: Any) -> Session:
    values = dict(row._mapping)
    values["amr"] = as_tuple(values["amr"])
    return Session(**values)


class SqlSessions(SqlStore):
    async def add_session(self, session: Session) -> None:
        values = asdict(session)
        values["amr"] = list(session.amr)
        async with self.db.write() as c:
            await c.execute(_INSERT_SESSION, values)

    async def get_session(self, id_hash: str, now: int) -> Session | None:
        async with self.db.read() as c:
            row = (await c.execute(_GET_LIVE_SESSION, {"id_hash": id_hash, "now": now})).first()
        return _session(row) if row else None

    async def get_session_by_sid(self, sid: str) -> Session | None:
        async with self.db.read() as c:
            row = (await c.execute(_GET_SESSION_BY_SID, {"sid": sid})).first()
        return _session(row) if row else None

    async def end_session(self, sid: str, now: int) -> bool:
        async with self.db.write() as c:
            ended = await c.execute(
                sessions.update()
                .where(sessions.c.sid == sid, sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            )
            # Without offline_access a refresh token family dies with the session it came from.
            await c.execute(
                grants.update()
                .where(grants.c.sid == sid, grants.c.offline.is_(False), grants.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(ended.rowcount)


# Built once: every refresh without offline_access checks its session, every login looks for one.
# A disabled user's browser session signs nobody in any more (K33), without a second query.
_GET_LIVE_SESSION = (
    sa.select(sessions)
    .join(users, users.c.id == sessions.c.user_id)
    .where(
        sessions.c.id_hash == sa.bindparam("id_hash"),
        sessions.c.ended_at.is_(None),
        sessions.c.expires_at > sa.bindparam("now"),
        users.c.disabled.is_(False),
    )
)
_GET_SESSION_BY_SID = sa.select(sessions).where(sessions.c.sid == sa.bindparam("sid"))
_INSERT_SESSION = sessions.insert()
