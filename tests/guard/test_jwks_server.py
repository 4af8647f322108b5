"""The JWKS cache against a real local HTTP issuer: shared fetches, rotation, removal, floods, outages.

Each test counts the requests the issuer received and asserts the exact number. Time is the
verifier's clock (frozen, advanced by hand); only the HTTP is real.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from passportoffice.guard import InvalidToken, JwksPolicy, TokenVerifier
from tests.guard.support import AUDIENCE, ISSUER, NOW, LocalIssuer, Signer, access_claims
from tests.support.flows import FakeClock

pytestmark = pytest.mark.anyio

OpenVerifier = Callable[..., TokenVerifier]
UNKNOWN_KEY = "the token was signed with an unknown key"
UNAVAILABLE = "the issuer's keys are unavailable"


@pytest.fixture
async def open_verifier(clock: FakeClock, local_issuer: LocalIssuer) -> AsyncIterator[OpenVerifier]:
    """TokenVerifiers with their own HTTP client, fetching from the local issuer."""
    made: list[TokenVerifier] = []

    def make(**options: Any) -> TokenVerifier:
        options.setdefault("jwks_uri", local_issuer.jwks_uri)
        verifier = TokenVerifier(options.pop("issuer", ISSUER), AUDIENCE, clock=clock, **options)
        made.append(verifier)
        return verifier

    yield make
    for verifier in made:
        await verifier.aclose()


def fresh(signer: Signer, clock: FakeClock, **claims: Any) -> str:
    """A token issued now, with a jti of its own so no cache has seen it."""
    return signer.sign(access_claims(clock.now, jti=secrets.token_urlsafe(8), **claims))


async def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    return refused.value.description


async def test_concurrent_verifies_on_a_cold_cache_share_one_fetch(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """50 requests arriving before any key is known cause exactly one JWKS request."""
    local_issuer.delay = 0.2  # the fetch is still running when the last request arrives
    verifier = open_verifier()
    tokens = [fresh(es256, clock) for _ in range(50)]
    results = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert {result.subject for result in results} == {"user-1234"}
    assert local_issuer.count() == 1


async def test_keys_come_from_discovery_when_no_jwks_uri_is_given(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """The JWKS URI is read from `{issuer}/.well-known/openid-configuration`, once."""
    verifier = open_verifier(issuer=local_issuer.url, jwks_uri=None)
    for _ in range(3):
        assert (await verifier.verify(fresh(es256, clock, iss=local_issuer.url))).issuer == local_issuer.url
    assert local_issuer.requests == {"/.well-known/openid-configuration": 1, "/jwks": 1}


async def test_metadata_naming_another_issuer_is_not_used(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """Metadata whose `issuer` is not exactly ours is ignored (then RFC 8414's location is tried): no keys."""
    local_issuer.metadata_issuer = local_issuer.url + "/"
    verifier = open_verifier(issuer=local_issuer.url, jwks_uri=None)
    assert await refusal(verifier, fresh(es256, clock, iss=local_issuer.url)) == UNAVAILABLE
    assert local_issuer.requests == {
        "/.well-known/openid-configuration": 1,
        "/.well-known/oauth-authorization-server": 1,
    }


async def test_k21_unknown_kid_flood_costs_one_fetch_per_cooldown(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """K21: 200 tokens with made-up kids cause one extra JWKS request per 30 s cooldown, not 200."""
    verifier = open_verifier()
    await verifier.verify(fresh(es256, clock))
    attacker = Signer("ES256")
    for _ in range(200):
        token = attacker.sign(access_claims(clock.now), kid=secrets.token_urlsafe(12))
        assert await refusal(verifier, token) == UNKNOWN_KEY
    assert local_issuer.count() == 2
    clock.advance(29)
    assert await refusal(verifier, attacker.sign(access_claims(clock.now), kid="another")) == UNKNOWN_KEY
    assert local_issuer.count() == 2
    clock.advance(2)
    assert await refusal(verifier, attacker.sign(access_claims(clock.now), kid="and-another")) == UNKNOWN_KEY
    assert local_issuer.count() == 3


async def test_k21_rotation_is_picked_up_by_its_first_token(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """K21: after the issuer publishes a new key, the first token signed with it is accepted at once."""
    verifier = open_verifier()
    await verifier.verify(fresh(es256, clock))
    rotated = Signer("ES256")
    local_issuer.publish(es256, rotated)
    assert (await verifier.verify(fresh(rotated, clock))).subject == "user-1234"
    assert (await verifier.verify(fresh(es256, clock))).subject == "user-1234"
    assert local_issuer.count() == 2


async def test_k20_removed_key_stops_validating_after_the_refresh(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """K20: once the JWKS is refreshed without a key, its tokens are refused, cached ones included."""
    verifier = open_verifier()
    cached = fresh(es256, clock)
    await verifier.verify(cached)
    successor = Signer("ES256")
    local_issuer.publish(successor)
    clock.advance(299)  # within the default 300 s lifetime: the old set is still trusted
    assert (await verifier.verify(cached)).subject == "user-1234"
    assert local_issuer.count() == 1
    clock.advance(2)
    assert await refusal(verifier, cached) == UNKNOWN_KEY  # the scheduled refresh dropped it
    assert local_issuer.count() == 2
    # A new token under the removed kid is an unknown kid: one forced refetch (K21), then refused again.
    assert await refusal(verifier, fresh(es256, clock)) == UNKNOWN_KEY
    assert await refusal(verifier, fresh(es256, clock)) == UNKNOWN_KEY
    assert (await verifier.verify(fresh(successor, clock))).subject == "user-1234"
    assert local_issuer.count() == 3


async def test_k20_replaced_key_under_the_same_kid_stops_validating(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """K20: a kid republished with new material no longer verifies (nor serves from cache) the old tokens."""
    verifier = open_verifier()
    cached = fresh(es256, clock)
    await verifier.verify(cached)
    impostor = Signer("ES256")
    local_issuer.jwks = {"keys": [{**impostor.jwk, "kid": es256.kid}]}
    clock.advance(301)
    assert await refusal(verifier, cached) == "the token's signature is invalid"
    assert local_issuer.count() == 2


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("max-age=120", 120),
        ("public, max-age=3600", 3600),
        ('max-age="600"', 600),
        ("max-age=5", 60),  # clamped up to min_ttl
        ("max-age=999999999", 86400),  # clamped down to max_ttl
        ("no-store", 60),
        ("no-cache, max-age=600", 60),
        ("max-age=soon", 60),
        (None, 300),  # default_ttl
    ],
)
async def test_cache_control_sets_the_lifetime_within_bounds(
    open_verifier: OpenVerifier,
    local_issuer: LocalIssuer,
    es256: Signer,
    clock: FakeClock,
    cache_control: str | None,
    lifetime: int,
) -> None:
    """The JWKS is kept for its max-age, between 60 s and 24 h, and 300 s without one."""
    local_issuer.cache_control = cache_control
    verifier = open_verifier()
    await verifier.verify(fresh(es256, clock))
    clock.advance(lifetime - 1)
    await verifier.verify(fresh(es256, clock, exp=int(clock.now) + 600))
    assert local_issuer.count() == 1
    clock.advance(2)
    await verifier.verify(fresh(es256, clock, exp=int(clock.now) + 600))
    assert local_issuer.count() == 2


async def test_failing_issuer_keeps_the_last_good_set_then_fails_closed(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """Errors after a good fetch: the old keys serve, retried every 10 s, until max_stale; then refused."""
    verifier = open_verifier(jwks_policy=JwksPolicy(max_stale=3600, retry_after=10))
    await verifier.verify(fresh(es256, clock))
    local_issuer.mode = "error"
    clock.advance(301)
    await verifier.verify(fresh(es256, clock))
    assert local_issuer.count() == 2  # one failed refresh
    clock.advance(9)
    await verifier.verify(fresh(es256, clock))
    assert local_issuer.count() == 2  # no retry within retry_after
    clock.advance(2)
    await verifier.verify(fresh(es256, clock))
    assert local_issuer.count() == 3
    clock.now = NOW + 0.25 + 3601  # past max_stale after the last good fetch
    assert await refusal(verifier, fresh(es256, clock)) == UNAVAILABLE
    assert local_issuer.count() == 4
    local_issuer.mode = "ok"
    assert await refusal(verifier, fresh(es256, clock)) == UNAVAILABLE  # no new attempt within retry_after
    assert local_issuer.count() == 4
    clock.advance(10)
    assert (await verifier.verify(fresh(es256, clock))).subject == "user-1234"
    assert local_issuer.count() == 5


async def test_issuer_down_then_back(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock
) -> None:
    """Connection refused is a failed fetch like any other: the last good set serves until the issuer is back."""
    verifier = open_verifier()
    await verifier.verify(fresh(es256, clock))
    local_issuer.stop()
    clock.advance(301)
    assert (await verifier.verify(fresh(es256, clock))).subject == "user-1234"
    rotated = Signer("ES256")
    local_issuer.publish(rotated)
    local_issuer.restart()
    clock.advance(10)
    assert (await verifier.verify(fresh(rotated, clock))).subject == "user-1234"
    assert local_issuer.count() == 2  # the first fetch, and the one after the restart


@pytest.mark.parametrize("mode", ["error", "garbage"])
async def test_cold_start_failure_is_refused_and_retried_later(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock, mode: str
) -> None:
    """With no key ever fetched, a failing issuer means refusals, and one new attempt per retry_after."""
    local_issuer.mode = mode
    verifier = open_verifier()
    for _ in range(5):
        assert await refusal(verifier, fresh(es256, clock)) == UNAVAILABLE
    assert local_issuer.count() == 1
    clock.advance(10)
    local_issuer.mode = "ok"
    assert (await verifier.verify(fresh(es256, clock))).subject == "user-1234"
    assert local_issuer.count() == 2


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"keys": [], "padding": "x" * (300 * 1024)}, id="over 256 KiB"),
        pytest.param({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}, id="only a symmetric key"),
        pytest.param("private", id="only a private key"),
    ],
)
async def test_unusable_jwks_documents_give_no_keys(
    open_verifier: OpenVerifier, local_issuer: LocalIssuer, es256: Signer, clock: FakeClock, document: Any
) -> None:
    """An oversized JWKS, or one without a public signature key, is a failed fetch."""
    if document == "private":
        import json

        import jwt

        document = {"keys": [{**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(es256.key.private_key)),
                              "kid": es256.kid}]}
    local_issuer.jwks = document
    verifier = open_verifier()
    assert await refusal(verifier, fresh(es256, clock)) == UNAVAILABLE
    assert local_issuer.count() == 1
