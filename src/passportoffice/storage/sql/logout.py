"""The back-channel logout outbox (OpenID Connect Back-Channel Logout 1.0 §2.3, §2.5).

`end_sessions` is the one way a session ends: in one transaction it marks the sessions ended, revokes
their non-offline grants, and queues one notification per client that holds a grant from the session
and registered a `backchannel_logout_uri`. Delivery (`provider.logout_delivery`) runs in any instance
sharing the database; a row is claimed by a compare-and-set on `claimed_until`, so two instances never
send the same attempt, and a crashed instance's claim lapses after its lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from passportoffice.protocol.secrets import new_token
from passportoffice.storage.database import Connection
from passportoffice.storage.records import LogoutNotification
from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import clients, grants, logout_notifications, sessions

# How long a notification is retried before it is given up (the outbox stays small).
NOTIFICATION_LIFETIME = 3600


async def end_sessions(c: Connection, where: sa.ColumnElement[bool], now: int) -> int:
    """End the live sessions matching `where`, revoke their non-offline grants, queue their logouts."""
    rows = (
        await c.execute(sa.select(sessions.c.sid, sessions.c.user_id).where(where, sessions.c.ended_at.is_(None)))
    ).all()
    ended = 0
    for row in rows:
        sid, user_id = row.sid, row.user_id
        result = await c.execute(
            sessions.update().where(sessions.c.sid == sid, sessions.c.ended_at.is_(None)).values(ended_at=now)
        )
        if result.rowcount != 1:
            continue  # ended meanwhile by another transaction, which queued its own notifications
        ended += 1
        # Without offline_access a refresh token family dies with the session it came from.
        await c.execute(
            grants.update()
            .where(grants.c.sid == sid, grants.c.offline.is_(False), grants.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        # Every client that got tokens in this session (§2.3), offline grants included: the RP's own
        # session came from this login even if its refresh token outlives it.
        notified = (
            await c.execute(
                sa.select(grants.c.client_id)
                .distinct()
                .join(clients, clients.c.client_id == grants.c.client_id)
                .where(grants.c.sid == sid, clients.c.backchannel_logout_uri.is_not(None))
            )
        ).scalars()
        for client_id in notified:
            notification = LogoutNotification(
                id=new_token(16),
                client_id=client_id,
                sid=sid,
                sub=user_id,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
                expires_at=now + NOTIFICATION_LIFETIME,
            )
            await c.execute(logout_notifications.insert().values(**asdict(notification)))
    return ended


def _notification(row: Any) -> LogoutNotification:
    return LogoutNotification(**{name: row._mapping[name] for name in LogoutNotification.__slots__})


class SqlLogoutOutbox(SqlStore):
    async def due_logout_notifications(self, now: int, limit: int) -> Sequence[LogoutNotification]:
        query = (
            sa.select(logout_notifications)
            .where(
                logout_notifications.c.next_attempt_at <= now,
                logout_notifications.c.expires_at > now,
                sa.or_(logout_notifications.c.claimed_until.is_(None), logout_notifications.c.claimed_until <= now),
            )
            .order_by(logout_notifications.c.next_attempt_at)
            .limit(limit)
        )
        async with self.db.read() as c:
            rows = (await c.execute(query)).all()
        return [_notification(row) for row in rows]

    async def claim_logout_notification(self, notification_id: str, now: int, lease_until: int) -> bool:
        async with self.db.write() as c:
            claimed = await c.execute(
                logout_notifications.update()
                .where(
                    logout_notifications.c.id == notification_id,
                    logout_notifications.c.next_attempt_at <= now,
                    sa.or_(
                        logout_notifications.c.claimed_until.is_(None), logout_notifications.c.claimed_until <= now
                    ),
                )
                .values(claimed_until=lease_until, attempts=logout_notifications.c.attempts + 1)
            )
        return bool(claimed.rowcount == 1)

    async def finish_logout_notification(self, notification_id: str) -> None:
        async with self.db.write() as c:
            await c.execute(logout_notifications.delete().where(logout_notifications.c.id == notification_id))

    async def retry_logout_notification(self, notification_id: str, next_attempt_at: int) -> None:
        async with self.db.write() as c:
            await c.execute(
                logout_notifications.update()
                .where(logout_notifications.c.id == notification_id)
                .values(next_attempt_at=next_attempt_at, claimed_until=None)
            )
