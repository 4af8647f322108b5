"""Token endpoint, refresh_token grant: RFC 6749 §6, rotation and reuse detection (RFC 9700 §4.14.2), OIDC §12."""

from __future__ import annotations

import asyncio

import jwt
import pytest
import sqlalchemy as sa

from passportoffice.storage.tables import refresh_tokens
from tests.support.flows import BackChannel, bearer, settings_with

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings, request):
    """The shared test settings, with per-test overrides through indirect parametrization."""
    return settings_with(settings, **getattr(request, "param", {}))


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client()


@pytest.fixture
async def rs(flows):
    return await flows.add_client(
        "rs", secret="rs-secret", redirect_uris=(), grant_types=("client_credentials",), scopes=("notes:read",)
    )


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def family_rows(provider, grant_id: str) -> list:
    async with provider.storage.db.read() as connection:
        query = sa.select(refresh_tokens).where(refresh_tokens.c.grant_id == grant_id)
        return list((await connection.execute(query)).all())


async def grant_of(provider, refresh_token: str):
    state = await provider.storage.get_refresh_token(provider.hash(refresh_token))
    return state.grant


async def test_refresh_rotates_the_refresh_token(flows, alice, spa):
    """Every refresh returns a new refresh token and access token, with Cache-Control no-store."""
    tokens = await flows.tokens()
    response = await flows.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["token_type"] == "Bearer"


async def test_refresh_returns_a_new_id_token_for_the_same_authentication(flows, clock, alice, spa):
    """OIDC Core §12.2: the refreshed ID token keeps iss, sub, aud and auth_time; iat is the new time."""
    tokens = await flows.tokens()
    original = claims_of(tokens["id_token"])
    clock.advance(120)
    refreshed = claims_of((await flows.refresh(tokens["refresh_token"])).json()["id_token"])
    for claim in ("iss", "sub", "aud", "auth_time", "sid"):
        assert refreshed[claim] == original[claim], claim
    assert refreshed["iat"] == original["iat"] + 120


async def test_missing_refresh_token_is_invalid_request(flows, alice, spa):
    """A refresh request without refresh_token is malformed."""
    response = await flows.http.post("/token", data={"grant_type": "refresh_token", "client_id": "spa"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_unknown_refresh_token_is_invalid_grant(flows, alice, spa):
    """A refresh token the provider never issued is invalid_grant."""
    response = await flows.refresh("x" * 43)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_oversized_refresh_token_is_invalid_grant(flows, alice, spa):
    """An absurdly long refresh token is refused before it is hashed or looked up."""
    response = await flows.refresh("x" * 5000)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_refresh_token_is_bound_to_its_client(flows, alice, spa):
    """Another client presenting the refresh token gets invalid_grant (RFC 6749 §6)."""
    await flows.add_client("other")
    tokens = await flows.tokens()
    stolen = await flows.refresh(tokens["refresh_token"], client_id="other")
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    own = await flows.refresh(tokens["refresh_token"])
    assert own.status_code == 200, own.text


async def test_disabled_user_cannot_refresh(flows, provider, alice, spa):
    """Disabling the user stops its refresh tokens at once."""
    tokens = await flows.tokens()
    await provider.storage.set_user_disabled(alice.username_key, True)
    response = await flows.refresh(tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_predecessor_within_the_window_gets_the_same_successor_pair(flows, clock, alice, spa):
    """A lost response: the predecessor presented again within the window gets the very same pair back."""
    tokens = await flows.tokens()
    first = (await flows.refresh(tokens["refresh_token"])).json()
    clock.advance(5)
    again = await flows.refresh(tokens["refresh_token"])
    assert again.status_code == 200, again.text
    assert again.json() == first
    assert (await flows.refresh(first["refresh_token"])).status_code == 200


async def test_predecessor_after_the_window_revokes_the_family(flows, provider, clock, alice, spa):
    """A rotated token presented after the reuse window is reuse: its family is revoked."""
    tokens = await flows.tokens()
    first = (await flows.refresh(tokens["refresh_token"])).json()
    clock.advance(provider.settings.refresh_reuse_window + 1)
    replay = await flows.refresh(tokens["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    current = await flows.refresh(first["refresh_token"])
    assert current.status_code == 400
    assert current.json()["error"] == "invalid_grant"


async def test_predecessor_after_its_successor_rotated_revokes_the_family(flows, alice, spa):
    """Once the successor has itself been used, the old token gets no grace even inside the window."""
    tokens = await flows.tokens()
    first = (await flows.refresh(tokens["refresh_token"])).json()
    second = (await flows.refresh(first["refresh_token"])).json()
    replay = await flows.refresh(tokens["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await flows.refresh(second["refresh_token"])).json()["error"] == "invalid_grant"


async def test_k12_reuse_revokes_only_its_own_family(flows, clock, alice, spa, rs):
    """K12: replaying a rotated token of family A revokes A (RT and AT) while family B keeps working."""
    family_a = await flows.tokens()
    family_b = await flows.tokens()
    a1 = (await flows.refresh(family_a["refresh_token"])).json()
    a2 = (await flows.refresh(a1["refresh_token"])).json()
    clock.advance(1)

    replay = await flows.refresh(family_a["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"

    a_current = await flows.refresh(a2["refresh_token"])
    assert a_current.status_code == 400
    assert a_current.json()["error"] == "invalid_grant"
    back = BackChannel(flows.http)
    assert (await back.introspect(a2["access_token"])).json() == {"active": False}

    b_current = await flows.refresh(family_b["refresh_token"])
    assert b_current.status_code == 200, b_current.text
    assert (await back.introspect(family_b["access_token"])).json()["active"] is True
    userinfo = await flows.http.get("/userinfo", headers=bearer(b_current.json()["access_token"]))
    assert userinfo.status_code == 200


@pytest.mark.parametrize("settings", [{"refresh_reuse_window": 0}], indirect=True)
async def test_k13_strict_rotation_under_parallel_refreshes_has_one_winner(flows, provider, alice, spa):
    """K13: with no reuse window, 10 parallel refreshes of one token: one 200, nine invalid_grant, one successor."""
    tokens = await flows.tokens()
    grant = await grant_of(provider, tokens["refresh_token"])
    responses = await asyncio.gather(*(flows.refresh(tokens["refresh_token"]) for _ in range(10)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 9, [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    rows = await family_rows(provider, grant.id)
    unrotated = [row for row in rows if row.rotated_at is None]
    assert len(rows) == 2
    assert len(unrotated) == 1
    original = next(row for row in rows if row.rotated_at is not None)
    assert original.successor_hash == unrotated[0].token_hash
    # With no window the losers are indistinguishable from a thief's replay: the family is revoked.
    assert (await grant_of(provider, tokens["refresh_token"])).revoked_at is not None


@pytest.mark.parametrize("settings", [{"refresh_reuse_window": 0}], indirect=True)
async def test_k13_strict_rotation_refuses_a_sequential_replay(flows, alice, spa):
    """K13: with no reuse window, presenting the rotated token again at once is invalid_grant."""
    tokens = await flows.tokens()
    assert (await flows.refresh(tokens["refresh_token"])).status_code == 200
    replay = await flows.refresh(tokens["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


async def test_k13_parallel_refreshes_within_the_window_share_one_successor_pair(flows, provider, alice, spa):
    """K13 with the default window: parallel refreshes (two tabs) all get the same pair; one successor row."""
    tokens = await flows.tokens()
    grant = await grant_of(provider, tokens["refresh_token"])
    responses = await asyncio.gather(*(flows.refresh(tokens["refresh_token"]) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    rows = await family_rows(provider, grant.id)
    assert len(rows) == 2
    assert (await flows.refresh(bodies[0]["refresh_token"])).status_code == 200


async def test_k25_scope_escalation_on_refresh_is_invalid_scope(flows, alice, spa):
    """K25: asking on refresh for a scope that was never granted is invalid_scope."""
    tokens = await flows.tokens(scope="openid notes:read")
    response = await flows.refresh(tokens["refresh_token"], scope="openid notes:read notes:write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_k25_omitted_scope_is_the_original_scope(flows, alice, spa):
    """K25: a refresh without scope gets exactly the originally granted scope, never an empty one."""
    tokens = await flows.tokens(scope="openid notes:read notes:write")
    body = (await flows.refresh(tokens["refresh_token"])).json()
    assert body["scope"] == "openid notes:read notes:write"
    assert claims_of(body["access_token"])["scope"] == "openid notes:read notes:write"


async def test_k25_subset_narrows_the_access_token_but_not_the_grant(flows, alice, spa):
    """K25: a subset narrows the new access token only; the next refresh without scope gets everything."""
    tokens = await flows.tokens(scope="openid notes:read notes:write")
    narrowed = (await flows.refresh(tokens["refresh_token"], scope="notes:read")).json()
    assert narrowed["scope"] == "notes:read"
    assert claims_of(narrowed["access_token"])["scope"] == "notes:read"
    assert "id_token" not in narrowed
    widened = (await flows.refresh(narrowed["refresh_token"])).json()
    assert widened["scope"] == "openid notes:read notes:write"
    assert claims_of(widened["access_token"])["scope"] == "openid notes:read notes:write"


async def test_refresh_token_expires_when_idle(flows, provider, clock, alice, spa):
    """A refresh token unused for refresh_token_idle_ttl is invalid_grant."""
    tokens = await flows.tokens()
    clock.advance(provider.settings.refresh_token_idle_ttl)
    response = await flows.refresh(tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "settings",
    [{"refresh_token_idle_ttl": 100, "refresh_token_absolute_ttl": 250, "session_ttl": 10_000}],
    indirect=True,
)
async def test_rotation_never_extends_a_family_past_its_absolute_lifetime(flows, provider, clock, alice, spa):
    """Used often enough to never go idle, a family still ends at refresh_token_absolute_ttl."""
    tokens = await flows.tokens()
    started = provider.now()
    current = tokens["refresh_token"]
    for _ in range(3):
        clock.advance(80)
        response = await flows.refresh(current)
        assert response.status_code == 200, response.text
        current = response.json()["refresh_token"]
    # At 240 s the successor's idle expiry (340 s) is capped at the family's end (250 s).
    state = await provider.storage.get_refresh_token(provider.hash(current))
    assert state.token.expires_at == started + 250
    clock.advance(started + 250 - provider.now())
    response = await flows.refresh(current)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_ended_session_kills_a_family_without_offline_access(flows, provider, alice, spa):
    """Without offline_access a family dies with the IdP session it came from (logout)."""
    tokens = await flows.tokens()
    grant = await grant_of(provider, tokens["refresh_token"])
    await provider.storage.end_session(grant.sid, provider.now())
    response = await flows.refresh(tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_ended_session_keeps_an_offline_access_family(flows, provider, alice, spa):
    """An offline_access family outlives the IdP session."""
    tokens = await flows.tokens(scope="openid offline_access")
    grant = await grant_of(provider, tokens["refresh_token"])
    await provider.storage.end_session(grant.sid, provider.now())
    response = await flows.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text


async def test_expired_session_kills_a_family_without_offline_access(flows, provider, clock, alice, spa):
    """Without offline_access a family also dies when its IdP session times out, not only on logout."""
    tokens = await flows.tokens()
    current = tokens["refresh_token"]
    # The token itself is far from idle expiry (14 days); only the session (12 h) has ended.
    clock.advance(provider.settings.session_ttl + 1)
    response = await flows.refresh(current)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_expired_session_keeps_an_offline_access_family(flows, provider, clock, alice, spa):
    """An offline_access family survives the IdP session timing out."""
    tokens = await flows.tokens(scope="openid offline_access")
    clock.advance(provider.settings.session_ttl + 1)
    response = await flows.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text


async def test_refresh_resource_outside_the_grant_is_invalid_target(flows, alice):
    """RFC 8707: on refresh, resource may only pick an audience already granted."""
    await flows.add_client(audience="https://api.example")
    tokens = await flows.tokens()
    response = await flows.refresh(tokens["refresh_token"], resource="https://evil.example")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    ok = await flows.refresh(tokens["refresh_token"], resource="https://api.example")
    assert ok.status_code == 200, ok.text
    assert claims_of(ok.json()["access_token"])["aud"] == "https://api.example"
