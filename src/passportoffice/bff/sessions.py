"""BFF sessions: created at login with a fresh id (K32), found by cookie, tokens refreshed server-side.

The access token is refreshed `refresh_ahead` seconds before it expires, one refresh per session at a
time: a lock per session in this process, and a lease in the store across instances. A caller that
waited re-reads the session and uses what the winner stored. If two instances still refresh the same
token at once (a lease lost to a crash), the provider's reuse window answers both with the same
successor pair, so neither is logged out. When the provider rejects the refresh token, the session
ends (the next call gets 401).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request

from passportoffice.bff.oidc import OidcClient, ProviderRejected, TokenSet
from passportoffice.bff.sealing import DecryptionError, Sealer
from passportoffice.bff.settings import BffSettings
from passportoffice.bff.store import BffStore, StoredSession
from passportoffice.protocol.secrets import new_token

__all__ = ["DISPLAY_CLAIMS", "OpenSession", "Sessions"]

log = logging.getLogger("passportoffice.bff")

#: What `/bff/user` shows: for the UI, never a token.
DISPLAY_CLAIMS = ("sub", "name", "preferred_username", "email", "email_verified", "auth_time")
_TOUCH_EVERY = 60  # seconds: the idle clock is kept to the minute, not written on every request
_LEASE_WAITS = 50  # x 0.1 s: how long to wait for another instance's refresh


@dataclass(frozen=True, slots=True)
class OpenSession:
    cookie: str
    stored: StoredSession
    data: dict[str, Any]


class Sessions:
    def __init__(
        self,
        settings: BffSettings,
        store: BffStore,
        sealer: Sealer,
        oidc: OidcClient,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._store = store
        self._sealer = sealer
        self._oidc = oidc
        self._clock = clock
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def now(self) -> int:
        return int(self._clock())

    async def start(self, tokens: TokenSet, claims: dict[str, Any]) -> str:
        """A new session with a fresh random id; returns the cookie value."""
        now = self.now()
        cookie = new_token(32)
        id_hash = self._sealer.hash(cookie)
        data = {
            "access_token": tokens.access_token,
            "expires_at": tokens.expires_at,
            "refresh_token": tokens.refresh_token,
            "claims": {name: claims[name] for name in DISPLAY_CLAIMS if name in claims},
        }
        sid = claims.get("sid")
        await self._store.add_session(
            StoredSession(
                id_hash=id_hash,
                sub=claims["sub"],
                sid=sid if isinstance(sid, str) else None,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self._settings.session_absolute_ttl,
                sealed=self._sealer.seal_session(cookie, id_hash, data),
            )
        )
        return cookie

    async def current(self, request: Request) -> OpenSession | None:
        cookie = request.cookies.get(self._settings.cookie_name)
        if not cookie or len(cookie) > 128:
            return None
        session = await self._load(cookie)
        if session is not None and self.now() - session.stored.last_seen_at >= _TOUCH_EVERY:
            await self._store.touch_session(session.stored.id_hash, self.now())
        return session

    async def end(self, session: OpenSession) -> None:
        await self._store.delete_session(session.stored.id_hash)

    async def end_by_cookie(self, cookie: str | None) -> None:
        """K32: a pre-login session of this browser never survives a new login."""
        if cookie and len(cookie) <= 128:
            await self._store.delete_session(self._sealer.hash(cookie))

    async def access_token(self, session: OpenSession) -> str | None:
        """A current access token for the session, refreshed if due; None when the session has ended."""
        if not self._due(session):
            return str(session.data["access_token"])
        async with self._process_lock(session.stored.id_hash):
            fresh = await self._load(session.cookie)
            if fresh is None:
                return None
            if not self._due(fresh):
                return str(fresh.data["access_token"])  # another request refreshed it meanwhile
            return await self._refresh(fresh)

    def _due(self, session: OpenSession) -> bool:
        return int(session.data["expires_at"]) - self._settings.refresh_ahead <= self.now()

    async def _refresh(self, session: OpenSession) -> str | None:
        id_hash = session.stored.id_hash
        refresh_token = session.data.get("refresh_token")
        if not isinstance(refresh_token, str):
            await self.end(session)  # no refresh token (no offline_access): the session ends with its token
            return None
        owner = new_token(16)
        leased = False
        for _ in range(_LEASE_WAITS):
            now = self.now()
            leased = await self._store.lock_refresh(id_hash, owner, now + int(self._settings.provider_timeout) + 5, now)
            if leased:
                break
            await anyio.sleep(0.1)
            other = await self._load(session.cookie)
            if other is None:
                return None
            if not self._due(other):
                return str(other.data["access_token"])  # another instance refreshed it
        try:
            try:
                tokens = await self._oidc.refresh(refresh_token)
            except ProviderRejected as exc:
                if exc.error == "invalid_grant":
                    log.info("the provider rejected a session's refresh token; the session ends")
                    await self.end(session)
                    return None
                raise
            data = {
                **session.data,
                "access_token": tokens.access_token,
                "expires_at": tokens.expires_at,
                "refresh_token": tokens.refresh_token or refresh_token,
            }
            sealed = self._sealer.seal_session(session.cookie, id_hash, data)
            if not await self._store.update_session(id_hash, session.stored.version, sealed, self.now()):
                other = await self._load(session.cookie)
                return str(other.data["access_token"]) if other is not None else None
            return tokens.access_token
        finally:
            if leased:
                await self._store.unlock_refresh(id_hash, owner)

    async def _load(self, cookie: str) -> OpenSession | None:
        id_hash = self._sealer.hash(cookie)
        stored = await self._store.get_session(id_hash, self.now(), self._settings.session_idle_ttl)
        if stored is None:
            return None
        try:
            data = self._sealer.open_session(cookie, id_hash, stored.sealed)
        except (DecryptionError, ValueError):
            log.warning("a stored session could not be decrypted (another secret_key?); it is ended")
            await self._store.delete_session(id_hash)
            return None
        return OpenSession(cookie, stored, data)

    @asynccontextmanager
    async def _process_lock(self, id_hash: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(id_hash, (asyncio.Lock(), 0))
        self._locks[id_hash] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[id_hash]
            if users == 1:
                del self._locks[id_hash]
            else:
                self._locks[id_hash] = (lock, users - 1)


