"""Authorization state: pending requests (during login and consent), codes and remembered consent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from passportoffice.storage.database import Connection
from passportoffice.storage.records import AuthorizationCode, CodeRedemption, Grant, RefreshToken
from passportoffice.storage.sql.base import SqlStore, as_tuple
from passportoffice.storage.tables import (
    authorization_codes,
    authorization_requests,
    consents,
    grants,
    refresh_tokens,
)


class SqlAuthorizationState(SqlStore):
    async def put_request(
        self, request_id: str, client_id: str, parameters: Mapping[str, str], expires_at: int
    ) -> None:
        async with self.db.write() as c:
            await c.execute(
                authorization_requests.insert().values(
                    id=request_id, client_id=client_id, parameters=dict(parameters), expires_at=expires_at
                )
            )

    async def get_request(self, request_id: str, now: int) -> dict[str, str] | None:
        async with self.db.read() as c:
            row = (await c.execute(_GET_REQUEST, {"request_id": request_id, "now": now})).first()
        return dict(row.parameters) if row else None

    async def delete_request(self, request_id: str) -> None:
        async with self.db.write() as c:
            await c.execute(_DELETE_REQUEST, {"request_id": request_id})

    async def add_code(self, code: AuthorizationCode) -> None:
        values = asdict(code)
        values["audience"] = list(code.audience)
        values["amr"] = list(code.amr)
        async with self.db.write() as c:
            await c.execute(_INSERT_CODE, values)

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        query = sa.select(authorization_codes).where(authorization_codes.c.code_hash == code_hash)
        async with self.db.read() as c:
            row = (await c.execute(query)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["audience"] = as_tuple(values["audience"])
        values["amr"] = as_tuple(values["amr"])
        return AuthorizationCode(**values)

    async def burn_code(self, code_hash: str, now: int) -> None:
        async with self.db.write() as c:
            await c.execute(
                authorization_codes.update()
                .where(authorization_codes.c.code_hash == code_hash, authorization_codes.c.consumed_at.is_(None))
                .values(consumed_at=now)
            )

    async def redeem_code(
        self, code_hash: str, now: int, grant: Grant, refresh_token: RefreshToken | None
    ) -> CodeRedemption:
        async with self.db.write() as c:
            claimed = await c.execute(
                authorization_codes.update()
                .where(
                    authorization_codes.c.code_hash == code_hash,
                    authorization_codes.c.consumed_at.is_(None),
                    authorization_codes.c.expires_at > now,
                )
                .values(consumed_at=now, grant_id=grant.id)
            )
            if claimed.rowcount == 1:
                await insert_grant(c, grant, refresh_token)
                return CodeRedemption(won=True)
            previous = (
                await c.execute(
                    sa.select(authorization_codes.c.grant_id).where(authorization_codes.c.code_hash == code_hash)
                )
            ).scalar()
            if previous is not None:
                # RFC 6749 §4.1.2: a code used twice revokes every token issued from it.
                await c.execute(
                    grants.update()
                    .where(grants.c.id == previous, grants.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
        return CodeRedemption(won=False, previous_grant_id=previous)

    async def get_consent(self, user_id: str, client_id: str) -> frozenset[str]:
        query = sa.select(consents.c.scopes).where(consents.c.user_id == user_id, consents.c.client_id == client_id)
        async with self.db.read() as c:
            scopes = (await c.execute(query)).scalar()
        return frozenset(scopes or ())

    async def add_consent(self, user_id: str, client_id: str, scopes: Sequence[str]) -> None:
        this = (consents.c.user_id == user_id, consents.c.client_id == client_id)
        async with self.db.write() as c:
            # Make sure the row exists, then lock it: on PostgreSQL parallel consents for one pair would
            # otherwise both insert (one fails on the key) or both read-modify-write (one is lost).
            await c.execute(
                self.db.insert(consents)
                .values(user_id=user_id, client_id=client_id, scopes=[])
                .on_conflict_do_nothing()
            )
            current = (await c.execute(sa.select(consents.c.scopes).where(*this).with_for_update())).scalar()
            merged = sorted(set(current or ()) | set(scopes))
            await c.execute(consents.update().where(*this).values(scopes=merged))


async def insert_grant(c: Connection, grant: Grant, refresh_token: RefreshToken | None) -> None:
    values: dict[str, Any] = asdict(grant)
    values["audience"] = list(grant.audience)
    values["amr"] = list(grant.amr)
    await c.execute(grants.insert().values(**values))
    if refresh_token is not None:
        await c.execute(refresh_tokens.insert().values(**asdict(refresh_token)))


# Built once: every login reads and deletes its pending request and stores a code.
_GET_REQUEST = sa.select(authorization_requests.c.parameters).where(
    authorization_requests.c.id == sa.bindparam("request_id"),
    authorization_requests.c.expires_at > sa.bindparam("now"),
)
_DELETE_REQUEST = authorization_requests.delete().where(authorization_requests.c.id == sa.bindparam("request_id"))
_INSERT_CODE = authorization_codes.insert()
