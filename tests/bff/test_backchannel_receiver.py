"""The BFF's back-channel logout receiver: Back-Channel Logout 1.0 §2.6-§2.8, against an issuer whose keys
the test holds (a real JWKS server), so that each validation rule can be broken on its own."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from passportoffice.bff import BffSettings, StoredSession, create_bff
from passportoffice.bff.runtime import Bff
from tests.bff.stack import SECRET_KEY
from tests.guard.support import LocalIssuer, Signer, running

pytestmark = pytest.mark.anyio

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def signer() -> Signer:
    return Signer("RS256")


@pytest.fixture
def issuer(signer: Signer) -> Iterator[LocalIssuer]:
    with running(LocalIssuer(signer)) as local:
        yield local


@pytest.fixture
async def receiver(issuer: LocalIssuer, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Bff]]:
    settings = BffSettings(
        issuer=issuer.url, client_id="bff", client_secret="s", secret_key=SECRET_KEY,
        session_store=f"sqlite+aiosqlite:///{tmp_path / 'bff.db'}",
    )
    app = create_bff(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost:9003") as http:
        yield http, app.state.bff
    await app.state.bff.aclose()


def logout_claims(issuer: LocalIssuer, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer.url, "aud": "bff", "iat": now, "exp": now + 120, "jti": f"jti-{time.monotonic_ns()}",
        "sub": "alice", "sid": "sid-1", "events": {EVENT: {}},
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


async def add_session(bff: Bff, id_hash: str, sub: str, sid: str | None) -> None:
    now = int(time.time())
    assert bff.store is not None
    await bff.store.add_session(StoredSession(id_hash, sub, sid, now, now, now + 3600, b"sealed"))


async def alive(bff: Bff, id_hash: str) -> bool:
    assert bff.store is not None
    return await bff.store.get_session(id_hash, int(time.time()), 3600) is not None


async def post(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/bff/backchannel-logout", data={"logout_token": token})


async def test_a_valid_logout_token_ends_the_sessions_of_its_sid_once(receiver, issuer, signer) -> None:
    """§2.7: the sessions with the token's sid end (and no other); §2.8: 200, not cached; a replay of the
    same token (same jti) gets 400 and ends nothing more."""
    http, bff = receiver
    await add_session(bff, "a1", "alice", "sid-1")
    await add_session(bff, "a2", "alice", "sid-2")
    await add_session(bff, "b1", "bob", "sid-3")
    token = signer.sign(logout_claims(issuer), typ="logout+jwt")

    response = await post(http, token)
    assert (response.status_code, response.headers["cache-control"]) == (200, "no-store")
    assert [await alive(bff, h) for h in ("a1", "a2", "b1")] == [False, True, True]

    await add_session(bff, "a3", "alice", "sid-1")
    replay = await post(http, token)
    assert (replay.status_code, replay.json()) == (
        400, {"error": "invalid_request", "error_description": "the logout token was used before"}
    )
    assert await alive(bff, "a3")


async def test_a_token_with_only_sub_ends_every_session_of_the_user(receiver, issuer, signer) -> None:
    http, bff = receiver
    await add_session(bff, "a1", "alice", "sid-1")
    await add_session(bff, "a2", "alice", "sid-2")
    await add_session(bff, "b1", "bob", "sid-3")
    response = await post(http, signer.sign(logout_claims(issuer, sid=None), typ="logout+jwt"))
    assert response.status_code == 200
    assert [await alive(bff, h) for h in ("a1", "a2", "b1")] == [False, False, True]


@pytest.mark.parametrize(
    ("claims", "header"),
    [
        ({"nonce": "n"}, {}),  # §2.4: a logout token never carries a nonce
        ({"events": None}, {}),
        ({"events": {"http://schemas.openid.net/event/other": {}}}, {}),
        ({"events": {EVENT: "yes"}}, {}),
        ({"sub": None, "sid": None}, {}),
        ({"jti": None}, {}),
        ({"iat": None}, {}),
        ({"exp": None}, {}),
        ({"exp": int(time.time()) - 3600}, {}),
        ({"aud": "another-client"}, {}),
        ({"iss": "https://other-as.example"}, {}),
        ({}, {"typ": "JWT"}),  # an ID token's type: cross-JWT confusion (§4.1)
        ({}, {"typ": None}),
        ({}, {"alg": "none"}),
    ],
)
async def test_an_invalid_logout_token_is_refused_and_ends_nothing(receiver, issuer, signer, claims, header) -> None:
    http, bff = receiver
    await add_session(bff, "a1", "alice", "sid-1")
    token = signer.sign(logout_claims(issuer, **claims), **{"typ": "logout+jwt", **header})
    response = await post(http, token)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert await alive(bff, "a1")


async def test_a_token_signed_by_another_key_is_refused(receiver, issuer) -> None:
    http, bff = receiver
    await add_session(bff, "a1", "alice", "sid-1")
    forged = Signer("RS256").sign(logout_claims(issuer), typ="logout+jwt")
    response = await post(http, forged)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert await alive(bff, "a1")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"logout_token": "x"}'),
        ("application/x-www-form-urlencoded", b"logout_token=a&logout_token=b"),
        ("application/x-www-form-urlencoded", b""),
        ("application/x-www-form-urlencoded", b"logout_token=" + b"a" * 20000),
    ],
)
async def test_malformed_requests_get_400(receiver, content_type, body) -> None:
    http, _ = receiver
    response = await http.post("/bff/backchannel-logout", content=body, headers={"Content-Type": content_type})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("store", ["redis://127.0.0.1:9/0", "postgresql+asyncpg://nobody@127.0.0.1:9/bff"])
async def test_an_unreachable_session_store_is_a_503_not_a_500(issuer: LocalIssuer, store: str) -> None:
    settings = BffSettings(issuer=issuer.url, client_id="bff", client_secret="s", secret_key=SECRET_KEY,
                           session_store=store)
    app = create_bff(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost:9003") as http:
            response = await http.get("/bff/user", headers={"X-Requested-With": "passportoffice",
                                                            "Cookie": "__Host-passportoffice-bff=abc"})
        assert (response.status_code, response.json()["error"]) == (503, "temporarily_unavailable")
        assert response.headers["retry-after"] == "5"
    finally:
        await app.state.bff.aclose()


async def test_any_other_path_is_a_json_404(receiver) -> None:
    http, _ = receiver
    response = await http.get("/anything/else")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
