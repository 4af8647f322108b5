"""K11 / RFC 6749 §4.1.2: a second redemption of a code revokes everything issued from it, including what was
issued later by refreshing (the whole family), and nothing of the user's other sign-ins."""

from __future__ import annotations

import pytest

from tests.support.flows import BackChannel, bearer

pytestmark = pytest.mark.anyio


async def test_k11_code_reuse_after_refreshes_revokes_the_whole_family_and_nothing_else(flows):
    await flows.add_user()
    await flows.add_client()
    await flows.add_client("rs", secret="rs-secret", redirect_uris=(), grant_types=("client_credentials",))
    back = BackChannel(flows.http)
    auth = await flows.authorize()
    first = (await flows.exchange(auth)).json()
    second = (await flows.refresh(first["refresh_token"])).json()
    third = (await flows.refresh(second["refresh_token"])).json()
    other = await flows.tokens()  # another sign-in of the same user, same client

    reuse = await flows.exchange(auth)
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")

    for issued in (first, second, third):
        assert (await back.introspect(issued["access_token"])).json() == {"active": False}
        userinfo = await flows.http.get("/userinfo", headers=bearer(issued["access_token"]))
        assert userinfo.status_code == 401
    refreshed = await flows.refresh(third["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    assert (await back.introspect(other["access_token"])).json()["active"] is True
    assert (await flows.refresh(other["refresh_token"])).status_code == 200
