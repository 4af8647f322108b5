"""Access-token validations per second per core: passportoffice.guard, PyJWT's common pattern, the floor.

For ES256 and RS256 tokens shaped like our RFC 9068 access tokens, in one run:

- guard, first seen: `await TokenVerifier.verify(token)` over a pool of distinct tokens four times larger
  than the verifier's cache, in turn, so every call misses and does all the work: parsing, the signature,
  the claims, and the cache insertion (with its eviction). Also with the cache disabled (`cache_size=0`):
  the same work without the insertion.
- guard, seen again: the same token every call, answered from the cache (its expiry, the key set's
  freshness and the scopes are still checked).
- PyJWT: what most Python APIs do: `PyJWKClient(jwks_url).get_signing_key_from_jwt(token)` then
  `jwt.decode(token, key, algorithms=[...], audience=..., issuer=...)`, with the JWK Set served over real
  HTTP on 127.0.0.1 (PyJWKClient caches it, as by default).
- floor: `cryptography`'s verify of the same signing input, with the key, the signature (DER for ECDSA)
  and the padding/hash objects prepared beforehand: the signature check and nothing else.

Everything runs on one thread pinned to one CPU. Each contender is sampled several times, interleaved
with the others so that a change in the machine's load hits all of them; the best sample counts.

    python -m benchmarks.guard [--duration SECONDS]    # prints the figures as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from benchmarks.floors import SERVER_CPU
from benchmarks.machine import pinned
from passportoffice.crypto.keys import generate_key
from passportoffice.guard import TokenVerifier
from passportoffice.protocol.claims import ACCESS_TOKEN_TYP, access_token_claims

ALGORITHMS = ("ES256", "RS256")
ISSUER = "http://localhost:9000"
AUDIENCE = "https://api.bench.test"
SAMPLES = 5
CACHE_SIZE = 64
POOL = 4 * CACHE_SIZE  # in turn, so each token was evicted long before it comes back
GOALS = {"first_seen_to_floor": 0.8, "seen_again_to_floor": 10.0, "first_seen_to_pyjwt": 1.0}

Contender = Callable[[int], Awaitable[None]]  # runs the operation n times


def run_guard_benchmarks(duration: float) -> dict[str, Any]:
    """Measure every contender for about `duration` seconds per algorithm; return figures and ratios."""
    with pinned({SERVER_CPU}):
        return asyncio.run(_run(duration))


async def _run(duration: float) -> dict[str, Any]:
    results: dict[str, Any] = {
        "duration_s_per_contender": duration,
        "samples": SAMPLES,
        "cpu": SERVER_CPU,
        "pool_tokens": POOL,
        "guard_cache_size": CACHE_SIZE,
        "goals": GOALS,
    }
    for alg in ALGORITHMS:
        results[alg] = await _measure_algorithm(alg, duration)
    results["goals_met"] = all(results[alg]["goals_met"] for alg in ALGORITHMS)
    return results


async def _measure_algorithm(alg: str, duration: float) -> dict[str, Any]:
    key = generate_key(alg)
    now = int(time.time())
    tokens = [_token(key, alg, now) for _ in range(POOL)]
    with JwksServer({"keys": [key.public_jwk]}) as server:
        first_seen = TokenVerifier(ISSUER, AUDIENCE, jwks_uri=server.url, cache_size=CACHE_SIZE)
        uncached = TokenVerifier(ISSUER, AUDIENCE, jwks_uri=server.url, cache_size=0)
        seen_again = TokenVerifier(ISSUER, AUDIENCE, jwks_uri=server.url)
        pyjwk_client = jwt.PyJWKClient(server.url)
        contenders: dict[str, Contender] = {
            "floor": _floor(key.private_key.public_key(), alg, tokens[0]),
            "guard_first_seen": _guard(first_seen, tokens),
            "guard_first_seen_cache_disabled": _guard(uncached, tokens),
            "guard_seen_again": _guard(seen_again, tokens[:1]),
            "pyjwt": _pyjwt(pyjwk_client, alg, tokens),
        }
        for contender in contenders.values():
            await contender(POOL)  # warm up: fetch the JWK Sets, fill the caches, check every token passes
        rates = await _sample(contenders, duration / SAMPLES)
        for verifier in (first_seen, uncached, seen_again):
            await verifier.aclose()
    floor, pyjwt_rate = rates["floor"], rates["pyjwt"]
    ratios_to_floor = {name: round(rate / floor, 3) for name, rate in rates.items()}
    ratios_to_pyjwt = {name: round(rate / pyjwt_rate, 2) for name, rate in rates.items()}
    met = {
        "first_seen_to_floor": ratios_to_floor["guard_first_seen"] >= GOALS["first_seen_to_floor"],
        "seen_again_to_floor": ratios_to_floor["guard_seen_again"] >= GOALS["seen_again_to_floor"],
        "first_seen_to_pyjwt": ratios_to_pyjwt["guard_first_seen"] >= GOALS["first_seen_to_pyjwt"],
    }
    return {
        "token_bytes": len(tokens[0]),
        "per_second": {name: round(rate, 1) for name, rate in rates.items()},
        "microseconds_each": {name: round(1e6 / rate, 2) for name, rate in rates.items()},
        "ratio_to_floor": ratios_to_floor,
        "ratio_to_pyjwt": ratios_to_pyjwt,
        "goals_met": all(met.values()),
        "goals": met,
    }


async def _sample(contenders: dict[str, Contender], seconds: float) -> dict[str, float]:
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(SAMPLES):
        for name, contender in contenders.items():
            best[name] = max(best[name], await _rate(contender, seconds))
    return best


async def _rate(contender: Contender, seconds: float) -> float:
    """Calls per second: batches until `seconds` have passed (the clock is read once per batch)."""
    batch, done = 64, 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        await contender(batch)
        done += batch
    return done / (time.perf_counter() - start)


def _guard(verifier: TokenVerifier, tokens: list[str]) -> Contender:
    count = len(tokens)
    position = 0

    async def run(times: int) -> None:
        nonlocal position
        verify = verifier.verify
        for _ in range(times):
            await verify(tokens[position])
            position = (position + 1) % count

    return run


def _pyjwt(client: jwt.PyJWKClient, alg: str, tokens: list[str]) -> Contender:
    count = len(tokens)
    position = 0

    async def run(times: int) -> None:
        nonlocal position
        for _ in range(times):
            token = tokens[position]
            signing_key = client.get_signing_key_from_jwt(token)
            jwt.decode(token, signing_key.key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
            position = (position + 1) % count

    return run


def _floor(public_key: Any, alg: str, token: str) -> Contender:
    signing_input, _, encoded = token.rpartition(".")
    message = signing_input.encode()
    signature = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    if alg == "ES256":
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        ecdsa = ec.ECDSA(hashes.SHA256())

        def verify() -> None:
            public_key.verify(der, message, ecdsa)
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

        def verify() -> None:
            public_key.verify(signature, message, pkcs1, sha256)

    async def run(times: int) -> None:
        for _ in range(times):
            verify()

    return run


def _token(key: Any, alg: str, now: int) -> str:
    claims = access_token_claims(
        issuer=ISSUER,
        subject=secrets.token_urlsafe(16),
        audience=(AUDIENCE,),
        client_id="bench-service-0123abcd",
        scope="api.read api.write",
        issued_at=now,
        lifetime=3600,
        jti=secrets.token_urlsafe(16),
    )
    return jwt.encode(claims, key.private_key, algorithm=alg, headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYP})


class JwksServer:
    """The JWK Set over HTTP on a free loopback port, in a thread of this process (only hit while warming up)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "public, max-age=300")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def summary(results: dict[str, Any]) -> str:
    """One line per algorithm, for the run's log."""
    lines = []
    for alg in ALGORITHMS:
        figures = results[alg]
        rates, floor = figures["per_second"], figures["ratio_to_floor"]
        lines.append(
            f"{alg}: floor {rates['floor']:,.0f}/s; guard first seen {rates['guard_first_seen']:,.0f}/s "
            f"({floor['guard_first_seen']:.2f}x floor, {figures['ratio_to_pyjwt']['guard_first_seen']:.1f}x PyJWT), "
            f"seen again {rates['guard_seen_again']:,.0f}/s ({floor['guard_seen_again']:.1f}x floor); "
            f"PyJWT {rates['pyjwt']:,.0f}/s ({floor['pyjwt']:.2f}x floor)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.guard", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per contender and algorithm")
    args = parser.parse_args(argv)
    print(json.dumps(run_guard_benchmarks(args.duration), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
