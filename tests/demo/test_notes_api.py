"""The demo notes API in process: ownership by `sub`, scopes, RFC 6750 answers, CORS, input limits.

Tokens are signed here and the JWK Set is served by a real local HTTP issuer (tests/guard/support);
the same API against tokens from a real provider process is in test_notes_api_e2e.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from passportoffice.demo.notes_api import MAX_NOTE_LENGTH, MAX_NOTES_PER_OWNER, NoteStore, create_notes_api
from passportoffice.guard import TokenVerifier
from tests.guard.support import AUDIENCE, NOW, LocalIssuer, Signer, access_claims, running
from tests.support.flows import FakeClock

pytestmark = pytest.mark.anyio

ORIGIN = "http://localhost:9002"
INSUFFICIENT = 'Bearer error="insufficient_scope", error_description="the access token lacks a required scope", '


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("ES256")


@pytest.fixture(scope="module")
def issuer(signer: Signer) -> Iterator[LocalIssuer]:
    with running(LocalIssuer(signer)) as local:
        yield local


@pytest.fixture
async def api(issuer: LocalIssuer) -> AsyncIterator[httpx.AsyncClient]:
    clock = FakeClock(NOW + 1)
    app = create_notes_api(TokenVerifier(issuer.url, AUDIENCE, clock=clock), ORIGIN, NoteStore(clock))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


def bearer(signer: Signer, issuer: LocalIssuer, **claims: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + signer.sign(access_claims(iss=issuer.url, **claims))}


async def test_each_user_sees_and_deletes_only_their_own_notes(
    api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer
) -> None:
    """Notes belong to `sub`: B's list is empty, B cannot delete A's note (404, as for no note), A can."""
    alice, bob = bearer(signer, issuer, sub="alice"), bearer(signer, issuer, sub="bob")
    created = await api.post("/notes", json={"text": "alice's secret"}, headers=alice)
    assert created.status_code == 201, created.text
    note = created.json()
    assert (note["text"], created.headers["location"]) == ("alice's secret", f"/notes/{note['id']}")

    assert (await api.get("/notes", headers=bob)).json() == {"notes": []}
    stolen = await api.delete(f"/notes/{note['id']}", headers=bob)
    assert (stolen.status_code, stolen.json()["error"]) == (404, "not_found")
    assert (await api.get("/notes", headers=alice)).json() == {"notes": [note]}

    assert (await api.delete(f"/notes/{note['id']}", headers=alice)).status_code == 204
    assert (await api.get("/notes", headers=alice)).json() == {"notes": []}
    again = await api.delete(f"/notes/{note['id']}", headers=alice)
    assert (again.status_code, again.json()["error"]) == (404, "not_found")


async def test_each_route_requires_its_scope(api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer) -> None:
    """GET needs notes:read, POST and DELETE notes:write: 403 insufficient_scope naming the scope needed."""
    reader = bearer(signer, issuer, scope="notes:read")
    writer = bearer(signer, issuer, scope="openid notes:write")
    for method, path, headers, needed in [
        ("POST", "/notes", reader, "notes:write"),
        ("DELETE", "/notes/abc", reader, "notes:write"),
        ("GET", "/notes", writer, "notes:read"),
    ]:
        response = await api.request(method, path, headers=headers, json={"text": "x"} if method == "POST" else None)
        assert (response.status_code, response.headers["www-authenticate"]) == (
            403, INSUFFICIENT + f'scope="{needed}"'
        ), (method, path)
    assert (await api.get("/notes", headers=reader)).status_code == 200
    assert (await api.post("/notes", json={"text": "x"}, headers=writer)).status_code == 201


async def test_refusals_follow_rfc_6750(api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer) -> None:
    """No token: 401 with a bare challenge; a malformed header: 400 invalid_request; a bad token: 401
    invalid_token; a token without `sub` owns nothing: 401 invalid_token. Nothing of the token is echoed."""
    missing = await api.get("/notes")
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    malformed = await api.get("/notes", headers={"Authorization": "Bearer a b"})
    assert (malformed.status_code, malformed.headers["www-authenticate"]) == (
        400, 'Bearer error="invalid_request", error_description="the Authorization header is malformed"'
    )
    for headers, description in [
        (bearer(signer, issuer, aud="https://other-api.example"), "the token is not meant for this API"),
        (bearer(signer, issuer, exp=NOW - 61), "the token has expired"),
        (bearer(signer, issuer, sub=None), "the token names no subject"),
        ({"Authorization": "Bearer " + signer.sign(access_claims(iss=issuer.url), typ="JWT")},
         "the token is not an access token"),
    ]:
        response = await api.get("/notes", headers=headers)
        assert (response.status_code, response.headers["www-authenticate"]) == (
            401, f'Bearer error="invalid_token", error_description="{description}"'
        )
        assert headers["Authorization"][7:] not in response.text


async def test_cors_allows_the_configured_origin_only(
    api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer
) -> None:
    """The SPA's origin gets preflights and readable answers (401s included); any other origin gets neither."""
    preflight = {
        "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"
    }
    allowed = await api.options("/notes", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-credentials" not in allowed.headers
    refused = await api.options("/notes", headers={"Origin": "https://evil.example", **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    unauthorized = await api.get("/notes", headers={"Origin": ORIGIN})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["access-control-allow-origin"] == ORIGIN
    assert "www-authenticate" in unauthorized.headers["access-control-expose-headers"].lower()
    other = await api.get("/notes", headers={"Origin": "https://evil.example", **bearer(signer, issuer)})
    assert other.status_code == 200  # CORS is the browser's rule: the answer is just not readable there
    assert "access-control-allow-origin" not in other.headers


async def test_bodies_are_checked_before_and_while_parsing(
    api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer
) -> None:
    """Too large: 413 before parsing; not the expected shape: 400 invalid_request, without echoing the input."""
    writer = bearer(signer, issuer)
    huge = await api.post("/notes", content=b'{"text": "' + b"x" * 20000 + b'"}', headers=writer)
    assert (huge.status_code, huge.json()["error"]) == (413, "invalid_request")
    for body in [{"text": ""}, {"text": "x" * (MAX_NOTE_LENGTH + 1)}, {"text": 5}, {"text": "a", "owner": "bob"}, []]:
        response = await api.post("/notes", json=body, headers=writer)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request"), body
        assert "owner" not in response.text
    not_json = await api.post("/notes", content=b"{", headers={**writer, "Content-Type": "application/json"})
    assert (not_json.status_code, not_json.json()["error"]) == (400, "invalid_request")
    assert (await api.get("/notes", headers=writer)).json() == {"notes": []}


async def test_huge_streamed_body_is_refused(api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer) -> None:
    """A body without Content-Length is counted as it arrives: 413 once it passes the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = await api.post("/notes", content=chunks(), headers=bearer(signer, issuer))
    assert (response.status_code, response.json()["error"]) == (413, "invalid_request")


async def test_notes_per_user_are_bounded(api: httpx.AsyncClient, signer: Signer, issuer: LocalIssuer) -> None:
    """Memory stays bounded: past MAX_NOTES_PER_OWNER a user gets 409 too_many_notes; others are unaffected."""
    writer = bearer(signer, issuer, sub="prolific")
    for number in range(MAX_NOTES_PER_OWNER):
        assert (await api.post("/notes", json={"text": f"{number}"}, headers=writer)).status_code == 201
    full = await api.post("/notes", json={"text": "one more"}, headers=writer)
    assert (full.status_code, full.json()["error"]) == (409, "too_many_notes")
    assert len((await api.get("/notes", headers=writer)).json()["notes"]) == MAX_NOTES_PER_OWNER
    other = bearer(signer, issuer, sub="other")
    assert (await api.post("/notes", json={"text": "x"}, headers=other)).status_code == 201
