"""The issuer's key set, cached: RFC 7517 §5, RFC 9111 §5.2.2.1 (`max-age`), OIDC Core §10.1.1 (rotation).

- One fetch at a time: requests that need keys meanwhile wait for it and use its result.
- A fetched set is fresh for the response's `max-age`, kept within [min_ttl, max_ttl] (default_ttl
  without one), and then fetched again, so a key removed at the issuer stops verifying (K20).
- A token naming an unknown `kid` forces at most one early fetch per `unknown_kid_cooldown`: a real
  rotation is picked up by its first token, and a flood of made-up kids costs the issuer one request
  per cooldown, not one per token (K21).
- A failed fetch keeps the last good set, retried every `retry_after`, up to `max_stale` after that
  set was fetched; past it, every token is refused until a fetch succeeds (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from passportoffice.guard.errors import InvalidToken
from passportoffice.guard.fetch import FetchError
from passportoffice.guard.keys import JwksError, KeySet
from passportoffice.guard.verifying import FetchNeeded

log = logging.getLogger("passportoffice.guard")

#: Fetches and parses the key set; returns it with the response's max-age (None when it gave none).
LoadKeys = Callable[[], Awaitable[tuple[KeySet, int | None]]]


@dataclass(frozen=True, slots=True)
class JwksPolicy:
    """How long keys are trusted and how often the issuer is asked. Seconds throughout."""

    default_ttl: float = 300  # without Cache-Control; the provider's own jwks_max_age default
    min_ttl: float = 60  # a max-age of 0 must not turn every request into a fetch
    max_ttl: float = 86400  # nor may a huge one keep a removed key alive for long
    unknown_kid_cooldown: float = 30
    retry_after: float = 10  # after a failed fetch
    max_stale: float = 86400  # how long the last good set outlives failed fetches
    max_bytes: int = 256 * 1024  # a JWK Set document; issuers with certificate chains stay under 20 KiB

    def __post_init__(self) -> None:
        if not 0 < self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ValueError("JwksPolicy needs 0 < min_ttl <= default_ttl <= max_ttl")
        if self.unknown_kid_cooldown <= 0 or self.retry_after <= 0 or self.max_stale < 0 or self.max_bytes < 1024:
            raise ValueError("JwksPolicy: cooldown and retry_after must be positive, max_stale not negative")


class JwksCache:
    def __init__(
        self,
        load: LoadKeys,
        policy: JwksPolicy,
        clock: Callable[[], float],
        on_replace: Callable[[KeySet], None],
    ) -> None:
        self._load = load
        self._policy = policy
        self._clock = clock
        self._on_replace = on_replace
        self._keys: KeySet | None = None
        self._fetched_at = -math.inf
        #: Until then the current set is used without asking the issuer (also read by the token cache).
        self.trusted_until = -math.inf
        self._retry_at = -math.inf
        self._forced_at = -math.inf
        self._finished_fetches = 0
        self._lock: asyncio.Lock | None = None

    def current(self, now: float) -> KeySet:
        """The key set to verify with now; FetchNeeded when it must be fetched first."""
        if now < self.trusted_until and self._keys is not None:
            return self._keys
        if now < self._retry_at:
            raise InvalidToken("the issuer's keys are unavailable")
        raise FetchNeeded()

    def may_force(self, now: float) -> bool:
        return now >= self._forced_at + self._policy.unknown_kid_cooldown

    async def refresh(self, *, forced: bool) -> None:
        # Counted when a fetch ends: a request that saw the need before (or while) another fetch ran
        # finds the count changed once it holds the lock, and uses that fetch's outcome.
        finished_seen = self._finished_fetches
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._finished_fetches != finished_seen:
                return
            now = self._clock()
            if forced:
                if not self.may_force(now):
                    return
                self._forced_at = now
            try:
                keys, max_age = await self._load()
            except (FetchError, JwksError) as exc:
                self._failed(self._clock(), exc)
            else:
                self._replace(self._clock(), keys, max_age)
            finally:
                self._finished_fetches += 1

    def _replace(self, now: float, keys: KeySet, max_age: int | None) -> None:
        policy = self._policy
        ttl = policy.default_ttl if max_age is None else min(max(max_age, policy.min_ttl), policy.max_ttl)
        replaced = self._keys is not None
        self._keys, self._fetched_at = keys, now
        self.trusted_until, self._retry_at = now + ttl, -math.inf
        if replaced:
            self._on_replace(keys)

    def _failed(self, now: float, exc: Exception) -> None:
        policy = self._policy
        self._retry_at = now + policy.retry_after
        stale_until = self._fetched_at + policy.max_stale
        if self._keys is not None and now < stale_until:
            self.trusted_until = max(self.trusted_until, min(now + policy.retry_after, stale_until))
            log.warning("could not refresh the issuer's JWK Set, keeping the last good one: %s", exc)
        else:
            log.warning("could not fetch the issuer's JWK Set: %s", exc)
