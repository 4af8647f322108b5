"""The whole code flow end to end, in process."""

from __future__ import annotations

import jwt
import pytest

pytestmark = pytest.mark.anyio


async def test_code_flow_issues_three_tokens(flows):
    """A signed-in user's code redeems for an RFC 9068 access token, an ID token and a refresh token."""
    await flows.add_user()
    await flows.add_client()
    body = await flows.tokens()
    assert set(body) >= {"access_token", "id_token", "refresh_token", "expires_in", "token_type"}
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    refreshed = await flows.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    userinfo = await flows.http.get(
        "/userinfo", headers={"Authorization": "Bearer " + refreshed.json()["access_token"]}
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["preferred_username"] == "alice"
