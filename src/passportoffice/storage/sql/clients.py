"""Registered clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

import sqlalchemy as sa

from passportoffice.storage.interface import DuplicateError
from passportoffice.storage.records import Client
from passportoffice.storage.sql.base import SqlStore
from passportoffice.storage.tables import authorization_codes, authorization_requests, clients, consents, grants

_LIST_FIELDS = {"redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes", "origins"}


def _client(row: Any) -> Client:
    values = dict(row._mapping)
    for name in _LIST_FIELDS:
        values[name] = tuple(values[name] or ())
    return Client(**values)


class SqlClients(SqlStore):
    async def add_client(self, client: Client) -> None:
        values = asdict(client)
        for name in _LIST_FIELDS:
            values[name] = list(values[name])
        try:
            async with self.db.write() as c:
                await c.execute(clients.insert().values(**values))
        except sa.exc.IntegrityError as exc:
            raise DuplicateError(client.client_id) from exc

    async def get_client(self, client_id: str) -> Client | None:
        async with self.db.read() as c:
            row = (await c.execute(_GET_CLIENT, {"client_id": client_id})).first()
        return _client(row) if row else None

    async def list_clients(self) -> Sequence[Client]:
        async with self.db.read() as c:
            rows = (await c.execute(_select().order_by(clients.c.client_id))).all()
        return [_client(r) for r in rows]

    async def remove_client(self, client_id: str, now: int) -> bool:
        async with self.db.write() as c:
            result = await c.execute(clients.delete().where(clients.c.client_id == client_id))
            # A client registered again under the same id must not inherit the old one's tokens or consent.
            await c.execute(
                grants.update()
                .where(grants.c.client_id == client_id, grants.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await c.execute(consents.delete().where(consents.c.client_id == client_id))
            # Codes and pending requests die with the client: an instance whose client cache still holds the
            # removed client (for at most client_cache_ttl) must not turn a code into a grant nobody revokes.
            await c.execute(authorization_codes.delete().where(authorization_codes.c.client_id == client_id))
            await c.execute(authorization_requests.delete().where(authorization_requests.c.client_id == client_id))
        return bool(result.rowcount)


def _select() -> sa.Select[Any]:
    return sa.select(*(clients.c[f.name] for f in fields(Client)))


# Built once: building a statement costs more than running it (hot path: every token request).
_GET_CLIENT = _select().where(clients.c.client_id == sa.bindparam("client_id"))
