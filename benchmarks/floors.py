"""Floors: the least work one response can need, timed in-process in the same run as the endpoints.

A token response needs at least one JWS signature (two with an ID token); a password login needs one
argon2id verification. Each is timed in a tight loop with nothing around it, so an endpoint's
throughput divided by its floor is the share of the time that goes to the unavoidable work, and one
minus it is what HTTP, parsing, the database and our own code cost.

Discovery and the JWK Set are compared with a served floor instead: the requests per second of a
minimal JSON response from the same ASGI server, measured with wrk in the same run (`record`).

The machine is shared, so each floor is the best of several short samples, taken at the start and
again right before the endpoint that is compared with it: the best sample is the least disturbed one,
and it makes every ratio conservative.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import jwt
from argon2 import PasswordHasher
from argon2.low_level import Type

from benchmarks.machine import pinned
from passportoffice.crypto.keys import generate_key
from passportoffice.protocol.claims import ACCESS_TOKEN_TYP, access_token_claims
from passportoffice.protocol.secrets import new_token
from passportoffice.settings import Settings

SERVER_CPU = 0
PASSWORD = "correct horse battery staple"
SAMPLES = 4
# Composite floors: several operations in one response.
COMPOSITES = {"es256_plus_rs256_sign": ("es256_sign", "rs256_sign")}


class Floors:
    """Operations per second, each the best sample seen so far in this run."""

    def __init__(self, settings: Settings, seconds: float) -> None:
        self._seconds = seconds
        self._operations: dict[str, tuple[Callable[[], object], int]] = {
            "es256_sign": (_signer("ES256"), 1),
            "rs256_sign": (_signer("RS256"), 1),
            "argon2id_verify_1_thread": (_verifier(settings), 1),
            "argon2id_verify_2_threads": (_verifier(settings), 2),
        }
        self._best: dict[str, float] = {}
        self._best_per_cpu_second: dict[str, float] = {}  # served floors: per second of their server's CPU

    def measure(self, name: str) -> None:
        """Sample `name` (or each part of a composite) and keep the best rate; served floors are recorded."""
        for part in COMPOSITES.get(name, (name,)):
            if part not in self._operations:
                continue
            operation, threads = self._operations[part]
            # Argon2 is slow: give it longer, or a sample holds a handful of hashes.
            seconds = self._seconds * (4 if part.startswith("argon2") else 1)
            # One-thread floors run on the core the token server is pinned to, like the server.
            with pinned({SERVER_CPU} if threads == 1 else {SERVER_CPU, SERVER_CPU + 1}):
                rate = best_rate(operation, threads, seconds)
            self._best[part] = max(rate, self._best.get(part, 0.0))

    def record(self, name: str, rate: float, per_cpu_second: float | None) -> None:
        """A served floor's rate, measured elsewhere (with wrk, against its server), and per CPU-second."""
        self._best[name] = max(rate, self._best.get(name, 0.0))
        if per_cpu_second:
            self._best_per_cpu_second[name] = max(per_cpu_second, self._best_per_cpu_second.get(name, 0.0))

    def measure_all(self) -> None:
        for name in self._operations:
            self.measure(name)

    def get(self, name: str) -> float:
        parts = COMPOSITES.get(name)
        if parts is None:
            return self._best.get(name, 0.0)  # 0: not measured (a served floor whose run failed)
        # Operations done one after another: their times add up.
        return 1 / sum(1 / self._best[part] for part in parts)

    def get_per_cpu_second(self, name: str) -> float:
        """In-process floors keep their one CPU busy, so per second is per CPU-second; served ones are not."""
        return self._best_per_cpu_second.get(name) or self.get(name)

    def as_dict(self) -> dict[str, float]:
        served = [name for name in self._best if name not in self._operations]
        found = {name: self.get(name) for name in [*self._operations, *COMPOSITES, *served]}
        return found | {f"{name}_per_cpu_second": rate for name, rate in self._best_per_cpu_second.items()}


def _signer(alg: str) -> Callable[[], object]:
    """jwt.encode with a prepared key object and claims shaped like our RFC 9068 access tokens."""
    key = generate_key(alg)
    now = int(time.time())
    claims = access_token_claims(
        issuer="http://localhost:9000",
        subject=new_token(16),
        audience=("https://api.bench.test",),
        client_id="bench-service-0123abcd",
        scope="api.read api.write",
        issued_at=now,
        lifetime=600,
        jti=new_token(16),
    )
    headers = {"kid": key.kid, "typ": ACCESS_TOKEN_TYP}
    return lambda: jwt.encode(claims, key.private_key, algorithm=alg, headers=headers)


def _verifier(settings: Settings) -> Callable[[], object]:
    """argon2id verification of a correct password, at the parameters the provider uses."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    encoded = hasher.hash(PASSWORD)
    return lambda: hasher.verify(encoded, PASSWORD)


def best_rate(operation: Callable[[], object], threads: int, seconds: float) -> float:
    """The best of SAMPLES runs of `parallel_rate`, `seconds` in all."""
    return max(parallel_rate(operation, threads, seconds / SAMPLES) for _ in range(SAMPLES))


def parallel_rate(operation: Callable[[], object], threads: int, seconds: float) -> float:
    """Calls per second of `operation` in `threads` threads for about `seconds`."""
    operation()  # warm caches and lazy imports outside the timed part
    counts = [0] * threads
    start = time.perf_counter()
    deadline = start + seconds

    def loop(slot: int) -> None:
        done = 0
        while time.perf_counter() < deadline:
            operation()
            done += 1
        counts[slot] = done

    workers = [threading.Thread(target=loop, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)
