"""The storage contract: every backend (SQLite, PostgreSQL) must behave exactly like this.

Times are plain integers passed in as `now`, so nothing here sleeps or reads the clock.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import sqlalchemy as sa

from passportoffice.storage.interface import DuplicateError
from passportoffice.storage.records import (
    AuthorizationCode,
    Client,
    Grant,
    RefreshToken,
    Session,
    SigningKey,
    User,
)
from passportoffice.storage.sql import SqlStorage
from tests.storage.conftest import Counters

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000
HOUR = 3600


def make_user(user_id: str = "u1", username: str = "Alice", email: str | None = None) -> User:
    return User(
        id=user_id,
        username=username,
        username_key=username.casefold(),
        email=email,
        email_verified=False,
        name=None,
        password_hash="$argon2id$placeholder",
        disabled=False,
        created_at=NOW,
    )


def make_session(sid: str = "sid1", user_id: str = "u1", expires_at: int = NOW + HOUR) -> Session:
    return Session(
        id_hash=f"hash-{sid}",
        sid=sid,
        user_id=user_id,
        auth_time=NOW,
        amr=("pwd",),
        created_at=NOW,
        expires_at=expires_at,
    )


def make_grant(
    grant_id: str = "g1", sid: str = "sid1", offline: bool = False, expires_at: int = NOW + 30 * 24 * HOUR
) -> Grant:
    return Grant(
        id=grant_id,
        client_id="spa",
        user_id="u1",
        sid=sid,
        scope="openid profile",
        audience=("https://api.example.com",),
        offline=offline,
        auth_time=NOW,
        amr=("pwd", "otp"),
        created_at=NOW,
        expires_at=expires_at,
    )


def make_token(token_hash: str, grant_id: str = "g1", expires_at: int = NOW + 24 * HOUR) -> RefreshToken:
    return RefreshToken(token_hash=token_hash, grant_id=grant_id, created_at=NOW, expires_at=expires_at)


def make_code(code_hash: str = "c1", expires_at: int = NOW + 60) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        client_id="spa",
        user_id="u1",
        sid="sid1",
        redirect_uri="https://app.example.com/callback",
        scope="openid offline_access",
        audience=("https://api.example.com", "https://other.example.com"),
        nonce="n-0S6_WzA2Mj",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        auth_time=NOW,
        amr=("pwd",),
        expires_at=expires_at,
    )


def make_key(kid: str, created_at: int, expires_at: int | None = None) -> SigningKey:
    return SigningKey(
        kid=kid,
        alg="ES256",
        public_jwk={"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": kid},
        private_key_encrypted=b"\x00\x01sealed",
        created_at=created_at,
        active_from=created_at + 60,
        expires_at=expires_at,
    )


# Users


async def test_users_can_be_added_then_got_found_and_listed(storage: SqlStorage) -> None:
    """A user comes back equal by id and by username_key, and the list is ordered by username_key."""
    bob, alice = make_user("u2", "Bob", "bob@example.com"), make_user("u1", "Alice")
    await storage.add_user(bob)
    await storage.add_user(alice)

    assert await storage.get_user("u2") == bob
    assert await storage.find_user("alice") == alice
    assert await storage.list_users() == [alice, bob]
    assert await storage.get_user("nobody") is None
    assert await storage.find_user("nobody") is None


async def test_same_username_key_is_a_duplicate(storage: SqlStorage) -> None:
    """A second user whose username folds to an existing username_key is refused (K38)."""
    await storage.add_user(make_user("u1", "Alice"))

    with pytest.raises(DuplicateError):
        await storage.add_user(make_user("u2", "ALICE"))
    assert [user.id for user in await storage.list_users()] == ["u1"]


async def test_same_email_in_another_case_is_a_duplicate(storage: SqlStorage) -> None:
    """Emails are unique after casefolding, so one mailbox cannot own two accounts."""
    await storage.add_user(make_user("u1", "Alice", "alice@example.com"))

    with pytest.raises(DuplicateError):
        await storage.add_user(make_user("u2", "Alicia", "Alice@Example.COM"))


@pytest.mark.parametrize(
    "look_alike",
    ["quac\u212a@example.com", "\uff51\uff55\uff41\uff43\uff4b@example.com", "QUACK@EXAMPLE.COM"],
    ids=["kelvin-sign", "fullwidth", "upper-case"],
)
async def test_k38_an_email_that_normalises_to_a_registered_one_is_a_duplicate(
    storage: SqlStorage, look_alike: str
) -> None:
    """K38: NFKC + casefold of a look-alike (KELVIN SIGN, fullwidth letters) is the registered address."""
    await storage.add_user(make_user("u1", "quack", "quack@example.com"))

    with pytest.raises(DuplicateError):
        await storage.add_user(make_user("u2", "mallory", look_alike))
    assert [user.id for user in await storage.list_users()] == ["u1"]


async def test_disabling_a_user_returns_the_updated_user(storage: SqlStorage) -> None:
    """`set_user_disabled` returns the user as stored afterwards, or None for an unknown username_key."""
    await storage.add_user(make_user())

    disabled = await storage.set_user_disabled("alice", True)

    assert disabled is not None and disabled.disabled is True
    assert (await storage.get_user("u1")) == disabled
    assert await storage.set_user_disabled("nobody", True) is None


async def test_password_hash_can_be_replaced(storage: SqlStorage) -> None:
    """`set_password_hash` stores the new hash for that user."""
    await storage.add_user(make_user())

    await storage.set_password_hash("u1", "$argon2id$new")

    user = await storage.get_user("u1")
    assert user is not None and user.password_hash == "$argon2id$new"


# Clients


async def test_client_round_trips_every_field(storage: SqlStorage) -> None:
    """A client comes back equal, with tuples as tuples, its audience string and its JWKS."""
    client = Client(
        client_id="backend",
        token_endpoint_auth_method="private_key_jwt",
        redirect_uris=("https://a.example.com/cb", "https://b.example.com/cb"),
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "profile"),
        secret_hash=None,
        post_logout_redirect_uris=("https://a.example.com/bye",),
        origins=("https://a.example.com",),
        first_party=True,
        audience="https://api.example.com https://billing.example.com",
        jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]},
        id_token_signed_response_alg="ES256",
        created_at=NOW,
    )
    await storage.add_client(client)

    stored = await storage.get_client("backend")

    assert stored == client
    assert stored is not None and stored.audiences == ("https://api.example.com", "https://billing.example.com")
    assert await storage.get_client("unknown") is None


async def test_clients_are_listed_refused_twice_and_removed(storage: SqlStorage) -> None:
    """Clients list by id, a second one with the same id is a duplicate, removal says whether it removed."""
    spa = Client("spa", "none", ("https://app.example.com/cb",), ("authorization_code",), ("openid",))
    api = dataclasses.replace(spa, client_id="api", token_endpoint_auth_method="client_secret_basic")
    await storage.add_client(spa)
    await storage.add_client(api)

    with pytest.raises(DuplicateError):
        await storage.add_client(spa)
    assert await storage.list_clients() == [api, spa]
    assert await storage.remove_client("spa", 0) is True
    assert await storage.remove_client("spa", 0) is False
    assert await storage.list_clients() == [api]


async def test_removing_a_client_deletes_its_codes(storage: SqlStorage) -> None:
    """A removed client's unredeemed codes are gone, so no cached copy of the client can redeem one."""
    await storage.add_client(Client("spa", "none", ("https://app.example.com/cb",), ("authorization_code",), ()))
    await storage.add_code(make_code("c1"))

    assert await storage.remove_client("spa", NOW) is True
    assert await storage.get_code("c1") is None


# Signing keys


async def test_list_keys_excludes_expired_keys_oldest_first(storage: SqlStorage) -> None:
    """Keys past `expires_at` leave the list; the rest come oldest first."""
    await storage.add_key(make_key("new", created_at=NOW))
    await storage.add_key(make_key("gone", created_at=NOW - 3 * HOUR, expires_at=NOW))
    await storage.add_key(make_key("leaving", created_at=NOW - 2 * HOUR, expires_at=NOW + 1))

    assert [key.kid for key in await storage.list_keys(NOW)] == ["leaving", "new"]
    assert (await storage.list_keys(NOW))[1] == make_key("new", created_at=NOW)


async def test_retire_keys_sets_retired_at_and_expires_at_once(storage: SqlStorage) -> None:
    """Retiring stamps both times; retiring an already retired key changes nothing."""
    await storage.add_key(make_key("k1", created_at=NOW))
    await storage.add_key(make_key("k2", created_at=NOW + 1))

    await storage.retire_keys(["k1"], retired_at=NOW + 10, expires_at=NOW + HOUR)
    await storage.retire_keys(["k1"], retired_at=NOW + 20, expires_at=NOW + 2 * HOUR)

    k1, k2 = await storage.list_keys(NOW + 10)
    assert (k1.retired_at, k1.expires_at) == (NOW + 10, NOW + HOUR)
    assert (k2.retired_at, k2.expires_at) == (None, None)
    assert [key.kid for key in await storage.list_keys(NOW + HOUR)] == ["k2"]


# Sessions


async def test_get_session_returns_only_a_live_session(storage: SqlStorage) -> None:
    """A session is returned before it expires and before it ends, and never after either."""
    await storage.add_user(make_user())
    session = make_session(expires_at=NOW + HOUR)
    await storage.add_session(session)

    assert await storage.get_session("hash-sid1", NOW) == session
    assert await storage.get_session("hash-sid1", NOW + HOUR) is None
    assert await storage.get_session("unknown", NOW) is None

    assert await storage.end_session("sid1", NOW + 5) is True
    assert await storage.get_session("hash-sid1", NOW + 6) is None
    assert await storage.get_session_by_sid("sid1") == dataclasses.replace(session, ended_at=NOW + 5)
    assert await storage.end_session("sid1", NOW + 7) is False


async def test_k33_get_session_ignores_the_sessions_of_a_disabled_user(storage: SqlStorage) -> None:
    """K33: once the user is disabled their session cookie finds no session."""
    await storage.add_user(make_user())
    await storage.add_user(make_user("u2", "Bob"))
    await storage.add_session(make_session("sid1"))
    await storage.add_session(make_session("sid2", user_id="u2"))

    await storage.set_user_disabled("alice", True)
    assert await storage.get_session("hash-sid1", NOW) is None
    assert await storage.get_session("hash-sid2", NOW) is not None


async def test_end_session_revokes_its_non_offline_grants_only(storage: SqlStorage) -> None:
    """Ending a session revokes its online grants; offline grants and other sessions' grants survive."""
    await storage.add_user(make_user())
    await storage.add_session(make_session("sid1"))
    await storage.add_grant(make_grant("online", sid="sid1"), make_token("rt-online", "online"))
    await storage.add_grant(make_grant("offline", sid="sid1", offline=True), None)
    await storage.add_grant(make_grant("elsewhere", sid="sid2"), None)

    assert await storage.end_session("sid1", NOW + 5) is True

    stored = [await storage.get_grant(g) for g in ("online", "offline", "elsewhere")]
    assert [g.revoked_at if g else "missing" for g in stored] == [NOW + 5, None, None]
    state = await storage.get_refresh_token("rt-online")
    assert state is not None and state.grant.revoked_at == NOW + 5


# Authorization requests


async def test_authorization_request_is_readable_until_it_expires(storage: SqlStorage) -> None:
    """A pending request returns its parameters before `expires_at`, nothing at it or after deletion."""
    parameters = {"client_id": "spa", "scope": "openid", "state": "xyz"}
    await storage.put_request("r1", "spa", parameters, expires_at=NOW + 600)

    assert await storage.get_request("r1", NOW) == parameters
    assert await storage.get_request("r1", NOW + 600) is None

    await storage.delete_request("r1")
    assert await storage.get_request("r1", NOW) is None


# Authorization codes


async def test_code_round_trips(storage: SqlStorage) -> None:
    """A stored code comes back equal, unconsumed and without a grant."""
    await storage.add_code(make_code())

    assert await storage.get_code("c1") == make_code()
    assert await storage.get_code("unknown") is None


async def test_redeem_code_stores_the_grant_and_its_refresh_token(storage: SqlStorage) -> None:
    """The winning redemption marks the code consumed and stores the grant with its first refresh token."""
    await storage.add_code(make_code())

    redemption = await storage.redeem_code("c1", NOW + 1, make_grant(), make_token("rt1"))

    assert redemption.won is True
    code = await storage.get_code("c1")
    assert code is not None and (code.consumed_at, code.grant_id) == (NOW + 1, "g1")
    state = await storage.get_refresh_token("rt1")
    assert state is not None and state.grant == make_grant() and state.token == make_token("rt1")


async def test_redeem_code_wins_exactly_once_and_reuse_revokes(storage: SqlStorage) -> None:
    """Of 10 concurrent redemptions one wins; its grant alone is stored, and the losers revoked it."""
    await storage.add_code(make_code())
    candidates = [make_grant(f"g{i}") for i in range(10)]

    results = await asyncio.gather(
        *(storage.redeem_code("c1", NOW + 1, g, make_token(f"rt{i}", g.id)) for i, g in enumerate(candidates))
    )

    winners = [g.id for g, r in zip(candidates, results, strict=True) if r.won]
    assert len(winners) == 1
    stored = [g for g in [await storage.get_grant(c.id) for c in candidates] if g is not None]
    assert [g.id for g in stored] == winners
    assert stored[0].revoked_at == NOW + 1
    assert {r.previous_grant_id for r in results if not r.won} == {winners[0]}


async def test_failed_redemption_leaves_the_code_unredeemed_and_stores_nothing(storage: SqlStorage) -> None:
    """A redemption that fails after claiming the code (its refresh token cannot be stored) rolls back whole:
    the code is not consumed, no grant exists, and the next redemption wins."""
    await storage.add_code(make_code())
    await storage.add_grant(make_grant("other"), make_token("taken", "other"))

    with pytest.raises(sa.exc.IntegrityError):
        await storage.redeem_code("c1", NOW + 1, make_grant(), make_token("taken"))

    code = await storage.get_code("c1")
    assert code is not None and (code.consumed_at, code.grant_id) == (None, None)
    assert await storage.get_grant("g1") is None
    redemption = await storage.redeem_code("c1", NOW + 2, make_grant(), make_token("rt1"))
    assert redemption.won is True


async def test_burned_code_cannot_be_redeemed(storage: SqlStorage) -> None:
    """After `burn_code` a redemption loses and stores nothing."""
    await storage.add_code(make_code())
    await storage.burn_code("c1", NOW)

    redemption = await storage.redeem_code("c1", NOW + 1, make_grant(), make_token("rt1"))

    assert (redemption.won, redemption.previous_grant_id) == (False, None)
    assert await storage.get_grant("g1") is None
    assert await storage.get_refresh_token("rt1") is None


async def test_expired_code_cannot_be_redeemed(storage: SqlStorage) -> None:
    """A code presented at or after `expires_at` loses and stores nothing."""
    await storage.add_code(make_code(expires_at=NOW + 60))

    redemption = await storage.redeem_code("c1", NOW + 60, make_grant(), None)

    assert redemption.won is False
    assert await storage.get_grant("g1") is None


async def test_unknown_code_cannot_be_redeemed(storage: SqlStorage) -> None:
    """Redeeming a code that was never issued loses without a previous grant."""
    redemption = await storage.redeem_code("nope", NOW, make_grant(), None)

    assert (redemption.won, redemption.previous_grant_id) == (False, None)


# Grants and refresh tokens


async def test_rotate_refresh_token_wins_exactly_once(storage: SqlStorage) -> None:
    """Of 10 concurrent rotations of one token exactly one succeeds, and exactly one successor exists."""
    await storage.add_grant(make_grant(), make_token("rt0"))

    results = await asyncio.gather(
        *(storage.rotate_refresh_token("rt0", make_token(f"next{i}"), b"sealed", NOW + 30, NOW) for i in range(10))
    )

    assert results.count(True) == 1
    successors = [i for i in range(10) if await storage.get_refresh_token(f"next{i}") is not None]
    assert successors == [results.index(True)]
    presented = await storage.get_refresh_token("rt0")
    assert presented is not None and presented.token.successor_hash == f"next{successors[0]}"


async def test_rotation_records_the_successor_and_the_replay_response(storage: SqlStorage) -> None:
    """A rotated token keeps when, to what, and the encrypted response to replay until when."""
    await storage.add_grant(make_grant(), make_token("rt0"))

    assert await storage.rotate_refresh_token("rt0", make_token("rt1"), b"\x00sealed", NOW + 30, NOW + 1) is True

    state = await storage.get_refresh_token("rt0")
    assert state is not None
    assert state.token == dataclasses.replace(
        make_token("rt0"),
        rotated_at=NOW + 1,
        successor_hash="rt1",
        replay_response=b"\x00sealed",
        replay_until=NOW + 30,
    )
    assert await storage.rotate_refresh_token("rt0", make_token("rt2"), b"x", NOW + 30, NOW + 2) is False


async def test_get_refresh_token_reports_whether_the_successor_was_rotated(storage: SqlStorage) -> None:
    """`successor_rotated` turns True only once the successor has itself been rotated."""
    await storage.add_grant(make_grant(), make_token("rt0"))

    unrotated = await storage.get_refresh_token("rt0")
    assert unrotated is not None and unrotated.successor_rotated is False
    await storage.rotate_refresh_token("rt0", make_token("rt1"), b"a", NOW + 30, NOW)
    once = await storage.get_refresh_token("rt0")
    assert once is not None and once.successor_rotated is False
    await storage.rotate_refresh_token("rt1", make_token("rt2"), b"b", NOW + 90, NOW + 60)
    twice = await storage.get_refresh_token("rt0")
    assert twice is not None and twice.successor_rotated is True
    assert await storage.get_refresh_token("unknown") is None


async def test_failed_successor_insert_leaves_the_presented_token_unrotated(storage: SqlStorage) -> None:
    """A rotation that fails after marking the token (successor insert) rolls back whole: old state, never half."""
    await storage.add_grant(make_grant(), make_token("rt0"))
    await storage.add_grant(make_grant("g2"), make_token("taken", "g2"))

    with pytest.raises(sa.exc.IntegrityError):
        await storage.rotate_refresh_token("rt0", make_token("taken"), b"sealed", NOW + 30, NOW)

    state = await storage.get_refresh_token("rt0")
    assert state is not None and state.token == make_token("rt0")
    assert await storage.rotate_refresh_token("rt0", make_token("rt1"), b"sealed", NOW + 30, NOW) is True


async def test_database_errors_do_not_carry_the_values_bound_to_them(storage: SqlStorage) -> None:
    """An error from the database (here a duplicate refresh token hash) names the statement, never its values,
    so a log line about it cannot leak a stored hash or a password hash."""
    await storage.add_grant(make_grant(), make_token("secret-hash-value-0123456789"))

    with pytest.raises(sa.exc.IntegrityError) as caught:
        await storage.add_grant(make_grant("g2"), make_token("secret-hash-value-0123456789", "g2"))

    assert "secret-hash-value-0123456789" not in str(caught.value)
    assert "hide_parameters" in str(caught.value)


async def test_revoke_grant_keeps_the_first_revocation_time(storage: SqlStorage) -> None:
    """Revoking stamps `revoked_at`; revoking again does not move it."""
    await storage.add_grant(make_grant(), None)

    await storage.revoke_grant("g1", NOW + 5)
    await storage.revoke_grant("g1", NOW + 9)

    grant = await storage.get_grant("g1")
    assert grant is not None and grant.revoked_at == NOW + 5
    assert await storage.get_grant("unknown") is None


# Security counters


async def test_revoked_access_tokens_are_remembered(storage: SqlStorage) -> None:
    """A revoked jti reads as revoked (revoking twice is harmless); any other jti does not."""
    await storage.revoke_access_token("jti-1", NOW + 600)
    await storage.revoke_access_token("jti-1", NOW + 600)

    assert await storage.is_access_token_revoked("jti-1") is True
    assert await storage.is_access_token_revoked("jti-2") is False


async def test_remember_assertion_refuses_a_replay_until_the_entry_expires(counters: Counters) -> None:
    """The first sighting of a key is True, a replay False, and after expiry the key is fresh again."""
    assert await counters.remember_assertion("spa:jti-1", expires_at=NOW + 60, now=NOW) is True
    assert await counters.remember_assertion("spa:jti-1", expires_at=NOW + 60, now=NOW + 1) is False
    assert await counters.remember_assertion("spa:jti-1", expires_at=NOW + 200, now=NOW + 60) is True
    assert await counters.remember_assertion("spa:jti-1", expires_at=NOW + 200, now=NOW + 61) is False


async def test_parallel_replays_of_one_assertion_accept_exactly_one(counters: Counters) -> None:
    """Of 10 parallel sightings of one assertion key exactly one is accepted."""
    results = await asyncio.gather(
        *(counters.remember_assertion("spa:jti-1", expires_at=NOW + 60, now=NOW) for _ in range(10))
    )

    assert results.count(True) == 1


async def test_consents_merge(storage: SqlStorage) -> None:
    """Consent accumulates per user and client; other clients see none."""
    await storage.add_user(make_user())
    assert await storage.get_consent("u1", "spa") == frozenset()

    await storage.add_consent("u1", "spa", ["openid", "profile"])
    await storage.add_consent("u1", "spa", ["email", "openid"])

    assert await storage.get_consent("u1", "spa") == {"openid", "profile", "email"}
    assert await storage.get_consent("u1", "other") == frozenset()


async def test_parallel_consents_all_merge(storage: SqlStorage) -> None:
    """Consents given in parallel for one user and client all survive; none fails or overwrites another."""
    await storage.add_user(make_user())

    await asyncio.gather(*(storage.add_consent("u1", "spa", [f"scope{i}"]) for i in range(10)))

    assert await storage.get_consent("u1", "spa") == {f"scope{i}" for i in range(10)}


async def test_k30_parallel_login_attempts_cannot_pass_the_limit(counters: Counters) -> None:
    """20 parallel attempts against a limit of 3 reserve exactly 3 (K30)."""
    results = await asyncio.gather(
        *(counters.reserve_login_attempt("user:alice", limit=3, window=300, now=NOW) for _ in range(20))
    )

    assert results.count(True) == 3


async def test_login_attempt_window_resets_after_it_passes(counters: Counters) -> None:
    """A locked-out key stays locked for the window, then counts from one again."""
    for _ in range(3):
        assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW) is True

    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 299) is False
    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 300) is True
    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 301) is True
    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 302) is True
    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 303) is False


async def test_release_login_attempt_gives_back_exactly_one(counters: Counters) -> None:
    """Releasing returns one reservation only: racing failures still count."""
    for _ in range(3):
        await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW)

    await counters.release_login_attempt("k")
    await counters.release_login_attempt("unknown")

    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 1) is True
    assert await counters.reserve_login_attempt("k", limit=3, window=300, now=NOW + 2) is False


# Maintenance


async def test_delete_expired_removes_only_expired_rows(storage: SqlStorage) -> None:
    """Expired rows of every kind go (with the refresh tokens of deleted grants); live rows stay."""
    await storage.add_user(make_user())
    for suffix, expires_at in (("old", NOW), ("live", NOW + 1)):
        await storage.put_request(f"r-{suffix}", "spa", {}, expires_at)
        await storage.add_code(make_code(f"c-{suffix}", expires_at=expires_at))
        await storage.revoke_access_token(f"jti-{suffix}", expires_at)
        await storage.remember_assertion(f"a-{suffix}", expires_at, NOW - 1)
        await storage.add_session(make_session(f"s-{suffix}", expires_at=expires_at))
        grant = make_grant(f"g-{suffix}", expires_at=expires_at)
        await storage.add_grant(grant, make_token(f"rt-{suffix}", grant.id, expires_at=NOW - 1))

    assert await storage.delete_expired(NOW, batch_size=100) == 6

    assert await storage.get_request("r-old", NOW - 1) is None
    assert await storage.get_request("r-live", NOW - 1) == {}
    assert await storage.get_code("c-old") is None and await storage.get_code("c-live") is not None
    assert await storage.is_access_token_revoked("jti-old") is False
    assert await storage.is_access_token_revoked("jti-live") is True
    assert await storage.remember_assertion("a-live", NOW + 1, NOW - 1) is False
    assert await storage.get_session_by_sid("s-old") is None
    assert await storage.get_session_by_sid("s-live") is not None
    assert await storage.get_grant("g-old") is None and await storage.get_grant("g-live") is not None
    assert await storage.get_refresh_token("rt-old") is None
    assert await storage.get_refresh_token("rt-live") is not None


async def test_delete_expired_drops_sealed_replay_responses_once_their_window_passed(storage: SqlStorage) -> None:
    """The successor response sealed for the reuse window is dropped after it; the rotated token's row (needed
    to detect reuse) stays, and a response still inside its window is kept."""
    await storage.add_grant(make_grant(), make_token("rt0"))
    await storage.add_grant(make_grant("g2"), make_token("rt-a", "g2"))
    assert await storage.rotate_refresh_token("rt0", make_token("rt1"), b"sealed-0", NOW + 10, NOW)
    assert await storage.rotate_refresh_token("rt-a", make_token("rt-b", "g2"), b"sealed-a", NOW + 20, NOW + 10)

    assert await storage.delete_expired(NOW + 10, batch_size=100) == 1

    passed = await storage.get_refresh_token("rt0")
    assert passed is not None and passed.token.rotated_at == NOW and passed.token.successor_hash == "rt1"
    assert (passed.token.replay_response, passed.token.replay_until) == (None, None)
    within = await storage.get_refresh_token("rt-a")
    assert within is not None and within.token.replay_response == b"sealed-a"
    assert await storage.delete_expired(NOW + 10, batch_size=100) == 0


async def test_delete_expired_drops_throttle_counters_whose_window_is_over(storage: SqlStorage) -> None:
    """Counters whose window has passed go (they would restart at one anyway); a locked-out key inside its
    window stays locked; without a window nothing of the kind is touched."""
    for _ in range(3):
        assert await storage.reserve_login_attempt("old", limit=3, window=300, now=NOW - 300) is True
        assert await storage.reserve_login_attempt("locked", limit=3, window=300, now=NOW - 299) is True

    assert await storage.delete_expired(NOW, batch_size=100) == 0
    assert await storage.delete_expired(NOW, batch_size=100, throttle_window=300) == 1

    assert await storage.reserve_login_attempt("locked", limit=3, window=300, now=NOW) is False
    for _ in range(3):
        assert await storage.reserve_login_attempt("old", limit=3, window=300, now=NOW) is True
    assert await storage.reserve_login_attempt("old", limit=3, window=300, now=NOW) is False


async def test_delete_expired_deletes_at_most_a_batch_per_table(storage: SqlStorage) -> None:
    """With batch_size 2 and 3 expired requests, one call deletes 2 and the next the last one."""
    for i in range(3):
        await storage.put_request(f"r{i}", "spa", {}, NOW)

    assert await storage.delete_expired(NOW, batch_size=2) == 2
    assert await storage.delete_expired(NOW, batch_size=2) == 1
    assert await storage.delete_expired(NOW, batch_size=2) == 0


async def test_ping_answers(storage: SqlStorage) -> None:
    """`ping` returns without error on a reachable database."""
    await storage.ping()
