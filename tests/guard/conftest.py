"""Fixtures for the guard: a frozen clock, signing keys, and a verifier that fetches no network."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from passportoffice.guard import TokenVerifier
from tests.guard.support import AUDIENCE, ISSUER, NOW, LocalIssuer, Signer, jwks_of, mock_jwks, running
from tests.support.flows import FakeClock

MakeVerifier = Callable[..., TokenVerifier]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW + 0.25)


@pytest.fixture(scope="session")
def es256() -> Signer:
    return Signer("ES256")


@pytest.fixture(scope="session")
def rs256() -> Signer:
    return Signer("RS256")


@pytest.fixture
def jwks_requests() -> Counter[str]:
    return Counter()


@pytest.fixture
async def make_verifier(
    clock: FakeClock, es256: Signer, rs256: Signer, jwks_requests: Counter[str]
) -> AsyncIterator[MakeVerifier]:
    """A TokenVerifier for ISSUER/AUDIENCE whose JWKS (es256 and rs256 unless given) comes from memory."""
    clients = []

    def make(*, jwks: dict[str, Any] | None = None, **options: Any) -> TokenVerifier:
        http = mock_jwks(jwks if jwks is not None else jwks_of(es256, rs256), jwks_requests)
        clients.append(http)
        options.setdefault("clock", clock)
        options.setdefault("jwks_uri", ISSUER + "/jwks")
        return TokenVerifier(options.pop("issuer", ISSUER), options.pop("audience", AUDIENCE), http_client=http,
                             **options)

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def verifier(make_verifier: MakeVerifier) -> TokenVerifier:
    return make_verifier()


@pytest.fixture
def local_issuer(es256: Signer) -> Iterator[LocalIssuer]:
    with running(LocalIssuer(es256)) as issuer:
        yield issuer
