"""Users: accounts keyed by a normalised username."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from passportoffice.storage.interface import DuplicateError
from passportoffice.storage.records import User
from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import users


def email_key(email: str) -> str:
    """NFKC + casefold, like usernames: a look-alike of a registered address is a duplicate (K38)."""
    return unicodedata.normalize("NFKC", email).casefold()


def _user(row: Any) -> User:
    return User(**row._mapping)


class SqlUsers(SqlStore):
    async def add_user(self, user: User) -> None:
        values = asdict(user)
        values["email_key"] = email_key(user.email) if user.email else None
        try:
            async with self.db.write() as c:
                await c.execute(users.insert().values(**values))
        except sa.exc.IntegrityError as exc:
            raise DuplicateError(user.username) from exc

    async def get_user(self, user_id: str) -> User | None:
        async with self.db.read() as c:
            row = (await c.execute(_GET_USER, {"user_id": user_id})).first()
        return _user(row) if row else None

    async def find_user(self, username_key: str) -> User | None:
        async with self.db.read() as c:
            row = (await c.execute(_FIND_USER, {"username_key": username_key})).first()
        return _user(row) if row else None

    async def list_users(self) -> Sequence[User]:
        async with self.db.read() as c:
            rows = (await c.execute(_select().order_by(users.c.username_key))).all()
        return [_user(r) for r in rows]

    async def set_user_disabled(self, username_key: str, disabled: bool) -> User | None:
        async with self.db.write() as c:
            await c.execute(
                users.update().where(users.c.username_key == username_key).values(disabled=disabled)
            )
            row = (await c.execute(_select().where(users.c.username_key == username_key))).first()
        return _user(row) if row else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self.db.write() as c:
            await c.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


def _select() -> sa.Select[Any]:
    return sa.select(*(users.c[name] for name in User.__slots__))


# Built once: every refresh reads the user, every login finds one.
_GET_USER = _select().where(users.c.id == sa.bindparam("user_id"))
_FIND_USER = _select().where(users.c.username_key == sa.bindparam("username_key"))
