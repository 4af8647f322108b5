"""IntrospectionVerifier (RFC 7662): what it sends, what it accepts, and how long it trusts an answer."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from passportoffice.guard import InsufficientScope, IntrospectionVerifier, InvalidToken, SyncTokenVerifier
from tests.guard.support import AUDIENCE, ISSUER, NOW
from tests.support.flows import FakeClock

pytestmark = pytest.mark.anyio

OPAQUE = "Rt6Jx0bQbRy1n7i3EukLLw_zV7sQv3x2u9KXq3o5Xm8"
ENDPOINT = ISSUER + "/introspect"


class Introspection:
    """A recording introspection endpoint (and discovery document) answering what the test sets."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] = active()
        self.status = 200
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "introspection_endpoint": ENDPOINT})
        if self.status != 200:
            return httpx.Response(self.status, text="down")
        return httpx.Response(200, json=self.answer)

    @property
    def posts(self) -> list[httpx.Request]:
        return [request for request in self.requests if request.method == "POST"]


def active(**overrides: Any) -> dict[str, Any]:
    answer = {"active": True, "token_type": "Bearer", "scope": "notes:read notes:write", "client_id": "notes-spa",
              "sub": "user-1234", "exp": NOW + 600, "iat": NOW, "iss": ISSUER, "aud": AUDIENCE}
    answer.update(overrides)
    return {name: value for name, value in answer.items() if value is not None}


MakeIntrospection = Callable[..., IntrospectionVerifier]


@pytest.fixture
def endpoint() -> Introspection:
    return Introspection()


@pytest.fixture
async def make(endpoint: Introspection, clock: FakeClock) -> AsyncIterator[MakeIntrospection]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))

    def build(**options: Any) -> IntrospectionVerifier:
        options.setdefault("introspection_endpoint", ENDPOINT)
        options.setdefault("client_id", "notes-api")
        options.setdefault("client_secret", "s3cret")
        return IntrospectionVerifier(ISSUER, AUDIENCE, http_client=http, clock=clock, **options)

    yield build
    await http.aclose()


async def refusal(verifier: IntrospectionVerifier, token: str = OPAQUE) -> str:
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    return refused.value.description


async def test_an_active_token_is_accepted(make: MakeIntrospection, endpoint: Introspection) -> None:
    """The answer's claims become the verified token."""
    token = await make().verify(OPAQUE, scopes="notes:read")
    assert (token.subject, token.client_id, token.scopes) == ("user-1234", "notes-spa", {"notes:read", "notes:write"})


async def test_request_is_an_authenticated_form_post(make: MakeIntrospection, endpoint: Introspection) -> None:
    """RFC 7662 §2.1: a form POST with the token and a hint; Basic credentials form-urlencoded (RFC 6749 §2.3.1)."""
    await make(client_id="api:notes", client_secret="p@ss word").verify(OPAQUE)
    (request,) = endpoint.posts
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"token": [OPAQUE], "token_type_hint": ["access_token"]}
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"api%3Anotes:p%40ss+word").decode()


async def test_client_secret_post(make: MakeIntrospection, endpoint: Introspection) -> None:
    await make(auth_method="client_secret_post").verify(OPAQUE)
    (request,) = endpoint.posts
    assert "authorization" not in request.headers
    assert parse_qs(request.content.decode())["client_secret"] == ["s3cret"]


@pytest.mark.parametrize(
    ("answer", "description"),
    [
        ({"active": False}, "the token is not active"),
        (active(active="true"), "the token is not active"),
        ([], "the token is not active"),
        (active(token_type="refresh_token"), "the token is not a bearer access token"),
        (active(token_type="DPoP"), "the token is not a bearer access token"),
        (active(iss=ISSUER + "/"), "the token's issuer is not accepted"),
        (active(aud="https://other.example"), "the token is not meant for this API"),
        (active(aud=None), "the token has no audience"),
        (active(exp=NOW - 61), "the token has expired"),
        (active(exp="soon"), "the token's expiry is malformed"),
        (active(cnf={"jkt": "abc"}), "sender-constrained tokens are not accepted as bearer tokens"),
    ],
)
async def test_answers_that_are_refused(
    make: MakeIntrospection, endpoint: Introspection, answer: Any, description: str
) -> None:
    """Inactive, a refresh or DPoP token, another issuer or audience, expired, sender-constrained: refused."""
    endpoint.answer = answer
    assert await refusal(make()) == description


async def test_optional_members_may_be_absent(make: MakeIntrospection, endpoint: Introspection) -> None:
    """Without `iss`, `token_type` or `exp` the answer stands: the issuer we asked vouches for it."""
    endpoint.answer = active(iss=None, token_type=None, exp=None)
    token = await make().verify(OPAQUE)
    assert (token.issuer, token.expires_at) == (ISSUER, None)


async def test_insufficient_scope(make: MakeIntrospection, endpoint: Introspection) -> None:
    with pytest.raises(InsufficientScope) as refused:
        await make().verify(OPAQUE, scopes=("notes:admin",))
    assert refused.value.scopes == ("notes:admin",)


async def test_answers_are_cached_briefly(make: MakeIntrospection, endpoint: Introspection, clock: FakeClock) -> None:
    """An answer is reused for cache_ttl seconds, then the issuer is asked again (K11: revocation shows)."""
    verifier = make(cache_ttl=30)
    await verifier.verify(OPAQUE)
    clock.advance(29)
    await verifier.verify(OPAQUE)
    assert len(endpoint.posts) == 1
    clock.advance(2)
    endpoint.answer = {"active": False}
    assert await refusal(verifier) == "the token is not active"
    assert len(endpoint.posts) == 2


async def test_cache_never_outlives_exp(make: MakeIntrospection, endpoint: Introspection, clock: FakeClock) -> None:
    """A token expiring in 5 s is cached for 5 s, not for the 30 s cache_ttl."""
    endpoint.answer = active(exp=int(clock.now) + 5)
    verifier = make(cache_ttl=30)
    await verifier.verify(OPAQUE)
    clock.advance(4)
    await verifier.verify(OPAQUE)
    assert len(endpoint.posts) == 1
    clock.advance(2)
    endpoint.answer = {"active": False}
    assert await refusal(verifier) == "the token is not active"


async def test_refusals_are_not_cached(make: MakeIntrospection, endpoint: Introspection) -> None:
    """Inactive answers are asked again (an attacker's garbage must not evict good entries either)."""
    endpoint.answer = {"active": False}
    verifier = make()
    for _ in range(3):
        await refusal(verifier)
    assert len(endpoint.posts) == 3


@pytest.mark.parametrize(
    ("token", "description"),
    [
        ("a" * 9000, "the token is too large"),
        ("abc def", "the token is malformed"),
        ("abc\n", "the token is malformed"),
        ("", "the token is malformed"),
    ],
)
async def test_k40_bad_tokens_are_refused_without_asking(
    make: MakeIntrospection, endpoint: Introspection, token: str, description: str
) -> None:
    """K40: oversized or malformed tokens are refused before anything is sent to the issuer."""
    assert await refusal(make(), token) == description
    assert endpoint.requests == []


@pytest.mark.parametrize("status", [500, 401, 404])
async def test_issuer_failure_fails_closed(make: MakeIntrospection, endpoint: Introspection, status: int) -> None:
    endpoint.status = status
    assert await refusal(make()) == "the token could not be checked with its issuer"


async def test_endpoint_from_discovery(make: MakeIntrospection, endpoint: Introspection) -> None:
    """Without an endpoint given, it comes from the issuer's metadata, fetched once."""
    verifier = make(introspection_endpoint=None)
    await verifier.verify(OPAQUE)
    await verifier.verify(OPAQUE + "2")
    assert [request.url.path for request in endpoint.requests] == [
        "/.well-known/openid-configuration", "/introspect", "/introspect"
    ]


def test_sync_form_wraps_introspection(endpoint: Introspection, clock: FakeClock) -> None:
    """SyncTokenVerifier wraps an IntrospectionVerifier the same way, asking the issuer once."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))  # no sockets: usable from any loop
    verifier = IntrospectionVerifier(ISSUER, AUDIENCE, client_id="notes-api", client_secret="s3cret",
                                     introspection_endpoint=ENDPOINT, http_client=http, clock=clock)
    with SyncTokenVerifier(verifier) as sync:
        assert sync.verify(OPAQUE).subject == "user-1234"
        assert sync.verify(OPAQUE).subject == "user-1234"
    assert len(endpoint.posts) == 1
