"""`get_refresh_token` brings the family's user and IdP session along, read in the same snapshot.

The refresh grant checks both on every use (a disabled user, an ended session stop the family); one
read instead of three is what keeps the grant cheap.
"""

from __future__ import annotations

import dataclasses

import pytest

from passportoffice.storage.sql import SqlStorage
from tests.storage.test_contract import NOW, make_grant, make_session, make_token, make_user

pytestmark = pytest.mark.anyio


async def test_the_state_carries_the_familys_user_and_session(storage: SqlStorage) -> None:
    await storage.add_user(make_user())
    await storage.add_session(make_session("sid1"))
    await storage.add_grant(make_grant("g1", sid="sid1"), make_token("rt1", "g1"))

    state = await storage.get_refresh_token("rt1")

    assert state is not None
    assert state.user == make_user()
    assert state.session == make_session("sid1")


async def test_the_state_sees_a_disabled_user_and_an_ended_session(storage: SqlStorage) -> None:
    await storage.add_user(make_user())
    await storage.add_session(make_session("sid1"))
    await storage.add_grant(make_grant("g1", sid="sid1", offline=True), make_token("rt1", "g1"))
    await storage.set_user_disabled(make_user().username_key, True)
    await storage.end_session("sid1", NOW + 5)

    state = await storage.get_refresh_token("rt1")

    assert state is not None
    assert state.user == dataclasses.replace(make_user(), disabled=True)
    assert state.session == dataclasses.replace(make_session("sid1"), ended_at=NOW + 5)


async def test_a_missing_user_or_session_is_none(storage: SqlStorage) -> None:
    await storage.add_grant(make_grant("g1", sid="gone"), make_token("rt1", "g1"))

    state = await storage.get_refresh_token("rt1")

    assert state is not None
    assert state.user is None
    assert state.session is None
