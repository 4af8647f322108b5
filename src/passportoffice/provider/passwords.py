"""Password checks with argon2id (RFC 9106; OWASP parameters), equal in cost for unknown users (K29)."""

from __future__ import annotations

import os

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type

from passportoffice.settings import Settings

# Longer passwords are refused before hashing: hashing a megabyte is a denial of service (K43).
MAX_PASSWORD_BYTES = 1024


class PasswordChecker:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the user is unknown, so both cases cost one argon2 verification.
        self._dummy_hash = self._hasher.hash("passportoffice-dummy-password")
        self._max_threads = settings.argon2_max_threads or len(os.sched_getaffinity(0))
        self._limiter: anyio.CapacityLimiter | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash_async(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._threads())

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if the password matches; runs argon2 in a worker thread (it releases the GIL)."""
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return False
        real = password_hash is not None
        return await anyio.to_thread.run_sync(
            self._verify, password_hash or self._dummy_hash, real, password, limiter=self._threads()
        )

    def _threads(self) -> anyio.CapacityLimiter:
        # Made on first use, inside the event loop it belongs to. Sixteen logins at once on two CPUs
        # would hold sixteen times argon2_memory_cost and thrash the caches, for no earlier answer.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._max_threads)
        return self._limiter

    def _verify(self, password_hash: str, real: bool, password: str) -> bool:
        try:
            self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return real

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
