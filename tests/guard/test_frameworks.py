"""FastAPI, Starlette and Flask integrations: exact statuses and WWW-Authenticate values, nothing echoed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passportoffice.guard import SyncTokenVerifier, TokenVerifier, VerifiedToken
from passportoffice.guard.fastapi import BearerAuth as FastAPIBearer
from passportoffice.guard.flask import BearerAuth as FlaskBearer
from passportoffice.guard.starlette import BearerAuthMiddleware, authenticate, error_response
from tests.guard.conftest import MakeVerifier
from tests.guard.support import AUDIENCE, ISSUER, LocalIssuer, Signer
from tests.support.flows import FakeClock

pytestmark = pytest.mark.anyio

INVALID = 'Bearer realm="notes", error="invalid_token", error_description="the token has expired"'
INSUFFICIENT = (
    'Bearer realm="notes", error="insufficient_scope", error_description="the access token lacks a required scope", '
    'scope="notes:write"'
)
MALFORMED = 'Bearer realm="notes", error="invalid_request", error_description="the Authorization header is malformed"'
CASES = [
    pytest.param({}, 401, 'Bearer realm="notes"', id="no header"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, 401, 'Bearer realm="notes"', id="other scheme"),
    pytest.param({"Authorization": "Bearer a b"}, 400, MALFORMED, id="two tokens"),
]


def expired_token(signer: Signer) -> str:
    return signer.token(exp=1_700_000_000, iat=1_699_999_000, nbf=1_699_999_000)


@pytest.fixture
def verifier(make_verifier: MakeVerifier) -> TokenVerifier:
    return make_verifier()


@pytest.fixture
async def fastapi_client(verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    bearer = FastAPIBearer(verifier, realm="notes")

    @app.get("/notes")
    async def read(token: VerifiedToken = Depends(bearer.require_scopes("notes:read"))) -> dict[str, Any]:  # noqa: B008
        return {"sub": token.subject}

    @app.post("/notes")
    async def write(token: VerifiedToken = Depends(bearer.require_scopes("notes:write"))) -> dict[str, Any]:  # noqa: B008
        return {"sub": token.subject}

    @app.get("/me")
    async def me(token: VerifiedToken = Depends(bearer)) -> dict[str, Any]:  # noqa: B008
        return {"sub": token.subject}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
        yield client


async def test_fastapi_accepts_a_valid_token(fastapi_client: httpx.AsyncClient, es256: Signer) -> None:
    """A token with the scope reaches the endpoint, which sees the verified token."""
    headers = {"Authorization": "Bearer " + es256.token(scope="notes:read")}
    for path in ("/notes", "/me"):
        response = await fastapi_client.get(path, headers=headers)
        assert (response.status_code, response.json()) == (200, {"sub": "user-1234"})


async def test_fastapi_rfc6750_responses(fastapi_client: httpx.AsyncClient, es256: Signer) -> None:
    """401 invalid_token for an expired token, 403 insufficient_scope naming the scope; no token echoed."""
    expired = expired_token(es256)
    response = await fastapi_client.get("/notes", headers={"Authorization": "Bearer " + expired})
    assert (response.status_code, response.headers["www-authenticate"]) == (401, INVALID)
    assert expired not in response.text
    read_only = es256.token(scope="notes:read")
    response = await fastapi_client.post("/notes", headers={"Authorization": "Bearer " + read_only})
    assert (response.status_code, response.headers["www-authenticate"]) == (403, INSUFFICIENT)
    assert response.json() == {"detail": {"error": "insufficient_scope",
                                          "error_description": "the access token lacks a required scope"}}


@pytest.mark.parametrize(("headers", "status", "challenge"), CASES)
async def test_fastapi_header_problems(
    fastapi_client: httpx.AsyncClient, headers: dict[str, str], status: int, challenge: str
) -> None:
    response = await fastapi_client.get("/notes", headers=headers)
    assert (response.status_code, response.headers["www-authenticate"]) == (status, challenge)


async def test_fastapi_declares_bearer_auth_in_openapi(fastapi_client: httpx.AsyncClient) -> None:
    """The OpenAPI document shows the endpoints need an HTTP bearer token."""
    schema = (await fastapi_client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "scheme": "bearer"}}


@pytest.fixture
async def starlette_client(verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    async def notes(request: Request) -> Response:
        return JSONResponse({"sub": request.state.verified_token.subject})

    async def write(request: Request) -> Response:
        try:
            token = await authenticate(request, verifier, scopes=("notes:write",))
        except Exception as exc:  # the guard's errors, rendered by the guard
            return error_response(exc, realm="notes")  # type: ignore[arg-type]
        return JSONResponse({"sub": token.subject})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    protected = Starlette(
        routes=[Route("/notes", notes), Route("/healthz", health)],
        middleware=[Middleware(BearerAuthMiddleware, verifier=verifier, scopes=("notes:read",), realm="notes",
                               exempt_paths={"/healthz"})],
    )
    app = Starlette(routes=[Route("/write", write, methods=["POST"])])
    app.mount("/api", protected)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
        yield client


async def test_starlette_middleware(starlette_client: httpx.AsyncClient, es256: Signer) -> None:
    """The middleware passes valid tokens on (in request.state), refuses the rest, skips exempt paths."""
    ok = await starlette_client.get("/api/notes", headers={"Authorization": "Bearer " + es256.token()})
    assert (ok.status_code, ok.json()) == (200, {"sub": "user-1234"})
    expired = await starlette_client.get("/api/notes", headers={"Authorization": "Bearer " + expired_token(es256)})
    assert (expired.status_code, expired.headers["www-authenticate"]) == (401, INVALID)
    assert expired.json() == {"error": "invalid_token", "error_description": "the token has expired"}
    assert expired.headers["cache-control"] == "no-store"
    no_scope = await starlette_client.get("/api/notes", headers={"Authorization": "Bearer " + es256.token(scope="")})
    assert no_scope.status_code == 403
    assert no_scope.headers["www-authenticate"].endswith('scope="notes:read"')
    assert (await starlette_client.get("/api/healthz")).status_code == 200


@pytest.mark.parametrize(("headers", "status", "challenge"), CASES)
async def test_starlette_header_problems(
    starlette_client: httpx.AsyncClient, headers: dict[str, str], status: int, challenge: str
) -> None:
    response = await starlette_client.get("/api/notes", headers=headers)
    assert (response.status_code, response.headers["www-authenticate"]) == (status, challenge)


async def test_starlette_authenticate_per_endpoint(starlette_client: httpx.AsyncClient, es256: Signer) -> None:
    ok = await starlette_client.post("/write", headers={"Authorization": "Bearer " + es256.token()})
    assert ok.status_code == 200
    refused = await starlette_client.post("/write", headers={"Authorization": "Bearer " + es256.token(scope="x")})
    assert (refused.status_code, refused.headers["www-authenticate"]) == (403, INSUFFICIENT)


@pytest.fixture
def flask_client(local_issuer: LocalIssuer, clock: FakeClock) -> Iterator[Any]:
    # Its own verifier: the sync form fetches keys (here over real HTTP) on its own event-loop thread.
    sync = SyncTokenVerifier(TokenVerifier(ISSUER, AUDIENCE, jwks_uri=local_issuer.jwks_uri, clock=clock))
    bearer = FlaskBearer(sync, realm="notes")
    app = Flask(__name__)

    @app.get("/notes")
    @bearer.require_scopes("notes:read")
    def read() -> dict[str, Any]:
        return {"sub": g.verified_token.subject}

    @app.post("/notes")
    @bearer.require_scopes("notes:write")
    def write() -> dict[str, Any]:
        return {"sub": g.verified_token.subject}

    yield app.test_client()
    sync.close()


def test_flask_decorator(flask_client: Any, es256: Signer) -> None:
    """The decorator lets a scoped token through (token in flask.g) and answers RFC 6750 otherwise."""
    ok = flask_client.get("/notes", headers={"Authorization": "Bearer " + es256.token(scope="notes:read")})
    assert (ok.status_code, ok.json) == (200, {"sub": "user-1234"})
    expired = flask_client.get("/notes", headers={"Authorization": "Bearer " + expired_token(es256)})
    assert (expired.status_code, expired.headers["WWW-Authenticate"]) == (401, INVALID)
    assert expired.json == {"error": "invalid_token", "error_description": "the token has expired"}
    forbidden = flask_client.post("/notes", headers={"Authorization": "Bearer " + es256.token(scope="notes:read")})
    assert (forbidden.status_code, forbidden.headers["WWW-Authenticate"]) == (403, INSUFFICIENT)


@pytest.mark.parametrize(("headers", "status", "challenge"), CASES)
def test_flask_header_problems(flask_client: Any, headers: dict[str, str], status: int, challenge: str) -> None:
    response = flask_client.get("/notes", headers=headers)
    assert (response.status_code, response.headers["WWW-Authenticate"]) == (status, challenge)
