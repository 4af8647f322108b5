"""Registered clients as the token endpoint sees them: read through a short-lived, bounded cache.

Every token request authenticates its client; reading the client row each time was a third of the
client credentials grant's cost. A client is kept at most `client_cache_ttl` seconds (default 5) after
it was read, so a client removed or changed by any instance or by the command line is refused (or seen
changed) within that bound on every instance. Unknown client_ids are never cached: a flood of made-up
ids cannot evict the real clients or fill memory, and a newly added client works at once. The cache
holds at most `MAX_CACHED_CLIENTS` entries; the oldest read goes first.
"""

from __future__ import annotations

from collections.abc import Callable

from passportoffice.storage.interface import ClientStore
from passportoffice.storage.records import Client

__all__ = ["MAX_CACHED_CLIENTS", "ClientCache"]

MAX_CACHED_CLIENTS = 1024


class ClientCache:
    def __init__(self, store: ClientStore, clock: Callable[[], float], ttl: float) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Client]] = {}

    async def get(self, client_id: str) -> Client | None:
        now = self._clock()
        entry = self._entries.get(client_id)
        # A clock that went backwards (read_at in the future) does not stretch the bound: read again.
        if entry is not None and entry[0] <= now < entry[0] + self._ttl:
            return entry[1]
        client = await self._store.get_client(client_id)
        self._entries.pop(client_id, None)
        if client is not None and self._ttl > 0:
            while len(self._entries) >= MAX_CACHED_CLIENTS:
                del self._entries[next(iter(self._entries))]
            self._entries[client_id] = (now, client)
        return client
