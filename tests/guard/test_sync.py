"""SyncTokenVerifier: the async verifier's logic from threads, one shared fetch, no event loop needed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from passportoffice.guard import InsufficientScope, InvalidToken, SyncTokenVerifier, TokenVerifier
from tests.guard.support import AUDIENCE, ISSUER, LocalIssuer, Signer
from tests.support.flows import FakeClock


def test_threads_on_a_cold_cache_share_one_fetch(local_issuer: LocalIssuer, es256: Signer, clock: FakeClock) -> None:
    """16 threads verifying at once before any key is known: one JWKS request, every token accepted."""
    local_issuer.delay = 0.2
    tokens = [es256.token(jti=f"t{index}") for index in range(16)]
    start = threading.Barrier(16)

    with SyncTokenVerifier(TokenVerifier(ISSUER, AUDIENCE, jwks_uri=local_issuer.jwks_uri, clock=clock)) as verifier:

        def verify(token: str) -> str | None:
            start.wait()
            return verifier.verify(token).subject

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(verify, tokens)) == {"user-1234"}
    assert local_issuer.count() == 1


def test_sync_verify_raises_the_same_errors(local_issuer: LocalIssuer, es256: Signer, clock: FakeClock) -> None:
    """Refusals are the guard's own exceptions, as from the async form."""
    with SyncTokenVerifier(TokenVerifier(ISSUER, AUDIENCE, jwks_uri=local_issuer.jwks_uri, clock=clock)) as verifier:
        with pytest.raises(InvalidToken):
            verifier.verify(es256.token(aud="https://other.example"))
        with pytest.raises(InsufficientScope):
            verifier.verify(es256.token(), scopes="notes:admin")
        token = es256.token()
        assert verifier.verify(token) is verifier.verify(token)  # the second answer comes from the cache


def test_close_is_idempotent_and_safe_before_use(local_issuer: LocalIssuer) -> None:
    verifier = SyncTokenVerifier(TokenVerifier(ISSUER, AUDIENCE, jwks_uri=local_issuer.jwks_uri))
    verifier.close()
    verifier.close()
