"""Token endpoint, client_credentials grant: RFC 6749 §4.4; RFC 9068 §2.2 (sub is the client); RFC 8707."""

from __future__ import annotations

import jwt
import pytest

from tests.support.flows import BackChannel, basic_auth

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"


@pytest.fixture
async def service(flows):
    return await flows.add_client(
        "service",
        secret="service-secret",
        redirect_uris=(),
        grant_types=("client_credentials",),
        scopes=("notes:read", "notes:write"),
        audience="https://api.example https://notes.example",
    )


async def grant(http, **data):
    return await http.post(
        "/token", data={"grant_type": "client_credentials", **data}, headers=basic_auth("service", "service-secret")
    )


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def test_client_credentials_token_is_about_the_client(flows, service):
    """The access token's sub and client_id are the client; no refresh token, no ID token, no-store."""
    response = await grant(flows.http)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    assert body["token_type"] == "Bearer"
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "service"
    assert claims["client_id"] == "service"
    assert claims["iss"] == ISSUER
    assert claims["exp"] == claims["iat"] + 600


async def test_omitted_scope_is_every_scope_of_the_client(flows, service):
    """Without scope, the token carries the client's registered scopes."""
    body = (await grant(flows.http)).json()
    assert body["scope"] == "notes:read notes:write"
    assert claims_of(body["access_token"])["scope"] == "notes:read notes:write"


async def test_requested_scope_subset(flows, service):
    """A requested subset of the registered scopes is what the token carries."""
    body = (await grant(flows.http, scope="notes:read")).json()
    assert body["scope"] == "notes:read"
    assert claims_of(body["access_token"])["scope"] == "notes:read"


async def test_unregistered_scope_is_invalid_scope(flows, service):
    """A scope the client is not registered for is invalid_scope."""
    response = await grant(flows.http, scope="notes:read admin")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("scope", ["openid", "notes:read openid", "offline_access", "profile"])
async def test_user_scopes_are_invalid_scope(flows, service, scope):
    """Scopes about a user (openid, offline_access, profile, email) make no sense without one."""
    response = await grant(flows.http, scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_public_client_cannot_use_client_credentials(flows):
    """A public client has no credentials to grant on: unauthorized_client even if registered for it."""
    await flows.add_client("cli", grant_types=("client_credentials",), scopes=("notes:read",))
    response = await flows.http.post("/token", data={"grant_type": "client_credentials", "client_id": "cli"})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


async def test_default_audience_is_the_first_registered(flows, service):
    """Without resource, the token is for the client's default (first registered) audience."""
    body = (await grant(flows.http)).json()
    assert claims_of(body["access_token"])["aud"] == "https://api.example"


async def test_resource_picks_a_registered_audience(flows, service):
    """RFC 8707: resource selects any audience registered for the client."""
    body = (await grant(flows.http, resource="https://notes.example")).json()
    assert claims_of(body["access_token"])["aud"] == "https://notes.example"


@pytest.mark.parametrize("resource", ["https://evil.example", "notes", "https://notes.example#x"])
async def test_unregistered_or_malformed_resource_is_invalid_target(flows, service, resource):
    """RFC 8707 §2: a resource that is not a registered absolute URI is invalid_target."""
    response = await grant(flows.http, resource=resource)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


async def test_client_without_audience_gets_the_issuer_as_audience(flows):
    """A client with no registered audience gets tokens for the issuer, never for its own client_id."""
    await flows.add_client(
        "bare", secret="bare-secret", redirect_uris=(), grant_types=("client_credentials",), scopes=("notes:read",)
    )
    response = await flows.http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic_auth("bare", "bare-secret")
    )
    assert claims_of(response.json()["access_token"])["aud"] == ISSUER


async def test_client_credentials_token_introspects_as_active(flows, service):
    """A live client_credentials token introspects as active with sub = client_id."""
    token = (await grant(flows.http)).json()["access_token"]
    body = (await BackChannel(flows.http).introspect(token, "service", "service-secret")).json()
    assert body["active"] is True
    assert body["sub"] == "service"
    assert body["client_id"] == "service"
