"""TokenVerifier as a whole: configuration checks, the verified-token cache, and failing closed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from passportoffice.guard import InsufficientScope, InvalidToken, TokenVerifier
from passportoffice.guard.claims import ClaimRules
from tests.guard.conftest import MakeVerifier
from tests.guard.support import AUDIENCE, ISSUER, NOW, Signer
from tests.support.flows import FakeClock

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "options",
    [
        {"issuer": ""},
        {"audience": ""},
        {"audience": []},
        {"leeway": -1},
        {"leeway": 3600},
        {"max_token_length": 100},
        {"cache_size": -1},
        {"algorithms": ["RS256", "HS256"]},
    ],
)
def test_unsafe_configuration_is_refused(options: dict[str, Any]) -> None:
    """Configuration that would weaken or break validation fails at construction."""
    arguments: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, **options}
    with pytest.raises(ValueError):
        TokenVerifier(arguments.pop("issuer"), arguments.pop("audience"), **arguments)


async def test_a_token_seen_again_is_answered_from_the_cache(
    make_verifier: MakeVerifier, es256: Signer, jwks_requests: Counter[str]
) -> None:
    """The second verification of the same token returns the same result without re-verifying."""
    verifier = make_verifier()
    token = es256.token()
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first
    assert jwks_requests == {"/jwks": 1}


async def test_cached_tokens_still_expire_with_the_same_leeway(
    make_verifier: MakeVerifier, es256: Signer, clock: FakeClock
) -> None:
    """A cached token is refused from exp + leeway on, exactly as the first verification would."""
    verifier = make_verifier()
    token = es256.token(exp=NOW + 120)
    await verifier.verify(token)
    clock.now = NOW + 120 + 59.9
    assert (await verifier.verify(token)).expires_at == NOW + 120
    clock.now = NOW + 120 + 60
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    assert refused.value.description == "the token has expired"


async def test_scopes_are_checked_on_every_call_even_from_the_cache(verifier: TokenVerifier, es256: Signer) -> None:
    token = es256.token(scope="notes:read")
    await verifier.verify(token, scopes=("notes:read",))
    with pytest.raises(InsufficientScope):
        await verifier.verify(token, scopes=("notes:write",))


async def test_cache_is_bounded(make_verifier: MakeVerifier, es256: Signer) -> None:
    """With room for two tokens, the oldest of three is verified afresh (a new result object)."""
    verifier = make_verifier(cache_size=2)
    tokens = [es256.token(jti=f"j{index}") for index in range(3)]
    results = [await verifier.verify(token) for token in tokens]
    assert await verifier.verify(tokens[2]) is results[2]
    assert await verifier.verify(tokens[0]) is not results[0]


async def test_cache_can_be_disabled(make_verifier: MakeVerifier, es256: Signer) -> None:
    verifier = make_verifier(cache_size=0)
    token = es256.token()
    assert await verifier.verify(token) is not await verifier.verify(token)


async def test_refused_tokens_are_not_cached(verifier: TokenVerifier, es256: Signer, clock: FakeClock) -> None:
    """A token refused as not yet valid is accepted once it is: refusals are never remembered."""
    token = es256.token(nbf=NOW + 120)
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
    clock.advance(61)
    assert (await verifier.verify(token)).subject == "user-1234"


async def test_unexpected_library_errors_fail_closed(
    verifier: TokenVerifier, es256: Signer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Should any step raise something unforeseen, the token is refused (never a 500) and a line is logged."""

    def broken(self: ClaimRules, claims: dict[str, Any], now: float) -> Any:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(ClaimRules, "check", broken)
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(es256.token())
    assert refused.value.description == "the token could not be verified"
    assert caplog.messages == ["unexpected error while verifying a token"]
    assert es256.token() not in caplog.text
