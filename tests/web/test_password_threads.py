"""argon2 runs in worker threads, at most `argon2_max_threads` at once (default: one per usable CPU).

More hashes than CPUs finish no sooner, and each holds argon2_memory_cost KiB: a burst of logins
waits its turn instead of multiplying the memory and thrashing the caches.
"""

from __future__ import annotations

import os
import threading

import anyio
import pytest
from argon2 import PasswordHasher

from passportoffice.provider.passwords import PasswordChecker
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio


class Concurrency:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.calls = 0


@pytest.fixture
def concurrency(monkeypatch: pytest.MonkeyPatch) -> Concurrency:
    seen = Concurrency()
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, password_hash: str, password: str) -> bool:
        with seen.lock:
            seen.now += 1
            seen.calls += 1
            seen.most = max(seen.most, seen.now)
        try:
            return original(self, password_hash, password)
        finally:
            with seen.lock:
                seen.now -= 1

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen


@pytest.mark.parametrize("max_threads", [1, 2])
async def test_no_more_verifications_at_once_than_argon2_max_threads(
    tmp_path, concurrency: Concurrency, max_threads: int
) -> None:
    checker = PasswordChecker(settings_for(tmp_path, argon2_max_threads=max_threads))
    stored = checker.hash("right")
    results: list[bool] = []

    async def verify(password: str) -> None:
        results.append(await checker.verify(stored, password))

    async with anyio.create_task_group() as tasks:
        for index in range(12):
            tasks.start_soon(verify, "right" if index % 2 else "wrong")
    assert concurrency.calls == 12
    assert concurrency.most <= max_threads
    assert sorted(results) == [False] * 6 + [True] * 6


async def test_default_is_one_thread_per_usable_cpu(tmp_path) -> None:
    checker = PasswordChecker(settings_for(tmp_path))
    assert checker._threads().total_tokens == len(os.sched_getaffinity(0))
