"""End to end: tokens from a real `passportoffice serve` process, checked by the guard over real HTTP.

The server, its user and clients come from the interop suite's fixture (seeded through the CLI). Keys
are found through the provider's discovery document, as any API would find them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI

from passportoffice.demo.notes_api import create_notes_api
from passportoffice.guard import (
    IntrospectionVerifier,
    InvalidToken,
    TokenVerifier,
    VerifiedToken,
)
from passportoffice.guard.fastapi import BearerAuth
from tests.demo import running_demo_api
from tests.interop.conftest import (  # noqa: F401 (interop_server is a fixture)
    API_AUDIENCE,
    SERVICE_SCOPE,
    InteropClient,
    InteropServer,
    browser_login,
    interop_server,
)

pytestmark = pytest.mark.anyio


async def client_credentials(server: InteropServer) -> str:
    client = server.basic
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.issuer + "/token",
            data={"grant_type": "client_credentials", "scope": SERVICE_SCOPE},
            auth=(client.client_id, client.secret or ""),
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def authorize(server: InteropServer, client: InteropClient, scope: str = "openid profile") -> tuple[str, str]:
    """The browser's part of a code flow with PKCE S256: returns (code, code_verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = str(httpx.URL(server.issuer + "/authorize", params={
        "response_type": "code", "client_id": client.client_id, "redirect_uri": server.redirect_uri,
        "scope": scope, "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256",
    }))
    callback = await anyio.to_thread.run_sync(browser_login, url, server.redirect_uri)
    return httpx.URL(callback).params["code"], verifier


async def redeem(server: InteropServer, client: InteropClient, code: str, verifier: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": server.redirect_uri,
            "code_verifier": verifier, "client_id": client.client_id}
    auth = (client.client_id, client.secret) if client.secret else None
    async with httpx.AsyncClient() as http:
        return await http.post(server.issuer + "/token", data=data, auth=auth)


async def sign_in(server: InteropServer, client: InteropClient, scope: str = "openid profile") -> dict[str, Any]:
    code, verifier = await authorize(server, client, scope)
    response = await redeem(server, client, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def guard(interop_server: InteropServer) -> AsyncIterator[TokenVerifier]:  # noqa: F811
    async with TokenVerifier(interop_server.issuer, API_AUDIENCE) as verifier:
        yield verifier


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = claims.get("scope", "") + " admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_client_credentials_token_is_accepted(
    interop_server: InteropServer, guard: TokenVerifier  # noqa: F811
) -> None:
    """A service token from the provider verifies, with discovery, the JWKS and RFC 9068 typing."""
    verified = await guard.verify(await client_credentials(interop_server), scopes=(SERVICE_SCOPE,))
    assert (verified.subject, verified.client_id) == (interop_server.basic.client_id, interop_server.basic.client_id)
    assert verified.scopes == {SERVICE_SCOPE}
    assert verified.audience == (API_AUDIENCE,)


async def test_user_tokens_accepted_and_refused(
    interop_server: InteropServer, guard: TokenVerifier  # noqa: F811
) -> None:
    """The user's access token is accepted; the same sign-in's ID token, a token for another audience, the
    access token once expired, and a tampered one are refused (K24, K23)."""
    tokens = await sign_in(interop_server, interop_server.basic)
    verified = await guard.verify(tokens["access_token"])
    assert verified.subject == interop_server.sub

    refusals = {}
    for name, token in {
        "id token": tokens["id_token"],
        "other audience": (await sign_in(interop_server, interop_server.public))["access_token"],
        "tampered": tampered(tokens["access_token"]),
    }.items():
        with pytest.raises(InvalidToken) as refused:
            await guard.verify(token)
        refusals[name] = refused.value.description
    assert refusals == {
        "id token": "the token is not an access token",
        "other audience": "the token is not meant for this API",
        "tampered": "the token's signature is invalid",
    }
    later = TokenVerifier(interop_server.issuer, API_AUDIENCE, clock=lambda: time.time() + 600 + 61)
    async with later:
        with pytest.raises(InvalidToken) as refused:
            await later.verify(tokens["access_token"])
    assert refused.value.description == "the token has expired"


async def test_rfc6750_responses_from_an_api(
    interop_server: InteropServer, guard: TokenVerifier  # noqa: F811
) -> None:
    """An API protected by the guard answers the provider's tokens with the right RFC 6750 response."""
    app = FastAPI()
    bearer = BearerAuth(guard)

    @app.get("/notes")
    async def notes(token: VerifiedToken = Depends(bearer.require_scopes(SERVICE_SCOPE))) -> dict[str, Any]:  # noqa: B008
        return {"sub": token.subject}

    @app.post("/notes")
    async def write(token: VerifiedToken = Depends(bearer.require_scopes("notes:write"))) -> dict[str, Any]:  # noqa: B008
        return {"sub": token.subject}

    service = await client_credentials(interop_server)
    user = await sign_in(interop_server, interop_server.basic)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as api:
        ok = await api.get("/notes", headers={"Authorization": "Bearer " + service})
        assert (ok.status_code, ok.json()) == (200, {"sub": interop_server.basic.client_id})
        id_token = await api.get("/notes", headers={"Authorization": "Bearer " + user["id_token"]})
        assert (id_token.status_code, id_token.headers["www-authenticate"]) == (
            401, 'Bearer error="invalid_token", error_description="the token is not an access token"'
        )
        forged = await api.get("/notes", headers={"Authorization": "Bearer " + tampered(service)})
        assert (forged.status_code, forged.headers["www-authenticate"]) == (
            401, 'Bearer error="invalid_token", error_description="the token\'s signature is invalid"'
        )
        scope = await api.post("/notes", headers={"Authorization": "Bearer " + service})
        assert (scope.status_code, scope.headers["www-authenticate"]) == (
            403, 'Bearer error="insufficient_scope", error_description="the access token lacks a required scope", '
            'scope="notes:write"'
        )


async def test_k11_code_reuse_revokes_what_introspection_reports(
    interop_server: InteropServer, guard: TokenVerifier  # noqa: F811
) -> None:
    """K11: after the code is redeemed twice, introspection refuses the first access token at once; the JWT
    check alone cannot know (JWT access tokens cannot be recalled before `exp`, hence their short life)."""
    client = interop_server.basic
    code, verifier = await authorize(interop_server, client)
    first = await redeem(interop_server, client, code, verifier)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    introspection = IntrospectionVerifier(
        interop_server.issuer, API_AUDIENCE, client_id=client.client_id, client_secret=client.secret or ""
    )
    try:
        assert (await introspection.verify(access_token)).subject == interop_server.sub
        replay = await redeem(interop_server, client, code, verifier)
        assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
        fresh = IntrospectionVerifier(
            interop_server.issuer, API_AUDIENCE, client_id=client.client_id, client_secret=client.secret or ""
        )
        try:
            with pytest.raises(InvalidToken) as refused:
                await fresh.verify(access_token)
            assert refused.value.description == "the token is not active"
        finally:
            await fresh.aclose()
    finally:
        await introspection.aclose()
    assert (await guard.verify(access_token)).subject == interop_server.sub


async def test_the_demo_api_answers_tokens_from_serve(
    interop_server: InteropServer, tmp_path: Path  # noqa: F811
) -> None:
    """Issue 3's proof end to end: `passportoffice demo-api` (its own process) accepts a user's access token from
    `passportoffice serve`; the same user's ID token (K24), a token for another audience (K23) and a tampered
    one get 401 invalid_token; the scope it lacks gets 403 insufficient_scope. Expiry, which takes at least a
    minute of real time, is checked on the same API in process with its clock past `exp` and the leeway."""
    tokens = await sign_in(interop_server, interop_server.basic, "openid notes:read")
    other_audience = (await sign_in(interop_server, interop_server.public, "openid"))["access_token"]
    user = {"Authorization": "Bearer " + tokens["access_token"]}

    def invalid(description: str) -> tuple[int, str]:
        return 401, f'Bearer error="invalid_token", error_description="{description}"'

    with running_demo_api(interop_server.issuer, API_AUDIENCE, "http://localhost:8124", tmp_path) as api:
        accepted = httpx.get(f"{api}/notes", headers=user)
        assert (accepted.status_code, accepted.json()) == (200, {"notes": []})
        lacking = httpx.post(f"{api}/notes", json={"text": "x"}, headers=user)
        assert (lacking.status_code, lacking.headers["www-authenticate"]) == (
            403, 'Bearer error="insufficient_scope", error_description="the access token lacks a required scope", '
            'scope="notes:write"'
        )
        for token, description in [
            (tokens["id_token"], "the token is not an access token"),
            (other_audience, "the token is not meant for this API"),
            (tampered(tokens["access_token"]), "the token's signature is invalid"),
        ]:
            refused = httpx.get(f"{api}/notes", headers={"Authorization": f"Bearer {token}"})
            assert (refused.status_code, refused.headers["www-authenticate"]) == invalid(description)

    payload = tokens["access_token"].split(".")[1]
    expires_at = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
    verifier = TokenVerifier(interop_server.issuer, API_AUDIENCE, clock=lambda: expires_at + 60 + 1)
    later = create_notes_api(verifier, "http://localhost:8124")
    transport = httpx.ASGITransport(app=later)
    async with later.router.lifespan_context(later), httpx.AsyncClient(transport=transport, base_url="http://a") as api:
        expired = await api.get("/notes", headers=user)
    assert (expired.status_code, expired.headers["www-authenticate"]) == invalid("the token has expired")
