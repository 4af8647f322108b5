"""The SQL implementation of the storage interface (SQLite and PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

from passportoffice.storage.database import Database
from passportoffice.storage.sql.auth import SqlAuthorizationState
from passportoffice.storage.sql.clients import SqlClients
from passportoffice.storage.sql.grants import SqlGrants
from passportoffice.storage.sql.keys import SqlKeys
from passportoffice.storage.sql.logout import SqlLogoutOutbox
from passportoffice.storage.sql.maintenance import SqlMaintenance
from passportoffice.storage.sql.security import SqlSecurityCounters
from passportoffice.storage.sql.sessions import SqlSessions
from passportoffice.storage.sql.users import SqlUsers

__all__ = ["SqlStorage"]


class SqlStorage(
    SqlUsers,
    SqlClients,
    SqlKeys,
    SqlSessions,
    SqlAuthorizationState,
    SqlGrants,
    SqlSecurityCounters,
    SqlMaintenance,
    SqlLogoutOutbox,
):
    """All stores over one `Database`; each base class is one small store sharing `self.db`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()
