"""Back-channel logout at the provider: OpenID Connect Back-Channel Logout 1.0 §2.1-§2.5, §2.8.

Notifications go to a real HTTP receiver on a loopback port; the outbox lives in the database (SQLite
and PostgreSQL), so these run on both.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import jwt
import pytest

from passportoffice.provider.logout_delivery import LogoutDelivery
from passportoffice.storage.sql.logout import NOTIFICATION_LIFETIME
from tests.support.flows import settings_with, verify_with_jwks
from tests.support.receiver import Receiver, receiver

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def rp() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@pytest.fixture
async def outbound() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def signed_in(flows, rp: Receiver) -> dict:
    """alice signs in to two clients with a logout URI and one without, in one IdP session."""
    await flows.add_user()
    await flows.add_client("spa", backchannel_logout_uri=rp.url + "/spa/logout")
    await flows.add_client(
        "bff", backchannel_logout_uri=rp.url + "/bff/logout", backchannel_logout_session_required=True
    )
    await flows.add_client("plain")
    tokens = {client: await flows.tokens(client) for client in ("spa", "bff", "plain")}
    return tokens


async def test_discovery_advertises_back_channel_logout(http: httpx.AsyncClient) -> None:
    """§2.1: the provider says it supports back-channel logout, with `sid` in logout tokens."""
    metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


async def test_logout_posts_a_logout_token_to_each_client_of_the_session(flows, rp, outbound, provider) -> None:
    """RP-initiated logout: every client that got tokens in the session and registered a URI receives one
    form POST whose logout token has exactly the §2.4 claims and the `logout+jwt` type."""
    tokens = await signed_in(flows, rp)
    id_claims = jwt.decode(tokens["spa"]["id_token"], options={"verify_signature": False})
    sid = id_claims["sid"]

    response = await flows.http.get("/end_session", params={"id_token_hint": tokens["spa"]["id_token"]})
    assert response.status_code == 200
    assert rp.requests == []  # off the request path: nothing was sent while answering the browser

    assert await LogoutDelivery(provider, outbound).deliver_due() == 2
    assert sorted(request.path for request in rp.requests) == ["/bff/logout", "/spa/logout"]
    for request in rp.requests:
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert list(request.form()) == ["logout_token"]
        token = request.form()["logout_token"]
        audience = request.path.split("/")[1]
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "logout+jwt"
        claims = await verify_with_jwks(flows.http, token, audience=audience)
        now = provider.now()
        assert claims == {
            "iss": ISSUER,
            "aud": audience,
            "iat": now,
            "exp": now + 120,
            "jti": claims["jti"],
            "sub": id_claims["sub"],
            "sid": sid,
            "events": {EVENT: {}},
        }
        assert "nonce" not in claims
    assert len({request.form()["logout_token"] for request in rp.requests}) == 2
    # Delivered notifications are gone: nothing more is sent.
    assert await LogoutDelivery(provider, outbound).deliver_due() == 0
    assert len(rp.requests) == 2


async def test_a_session_ended_twice_is_announced_once(flows, rp, outbound, provider) -> None:
    """Ending an already-ended session queues nothing more."""
    tokens = await signed_in(flows, rp)
    hint = {"id_token_hint": tokens["spa"]["id_token"]}
    await flows.http.get("/end_session", params=hint)
    await flows.http.get("/end_session", params=hint)
    assert await LogoutDelivery(provider, outbound).deliver_due() == 2


async def test_a_failing_client_is_retried_with_backoff(flows, rp, outbound, provider, clock, caplog) -> None:
    """A 503 is retried after 2 s, then 4 s; the third attempt gets through. Logs never hold the token."""
    await flows.add_user()
    await flows.add_client("spa", backchannel_logout_uri=rp.url + "/logout")
    tokens = await flows.tokens("spa")
    rp.statuses = [503, 500]
    delivery = LogoutDelivery(provider, outbound)
    caplog.set_level(logging.INFO, "passportoffice.backchannel")

    await flows.http.get("/end_session", params={"id_token_hint": tokens["id_token"]})
    assert await delivery.deliver_due() == 0
    assert await delivery.deliver_due() == 0  # not due yet: nothing is sent
    assert len(rp.requests) == 1
    clock.advance(2)
    assert await delivery.deliver_due() == 0
    clock.advance(3)
    assert await delivery.deliver_due() == 0  # the second retry waits 4 s
    clock.advance(1)
    assert await delivery.deliver_due() == 1
    assert len(rp.requests) == 3
    tokens_sent = [request.form()["logout_token"] for request in rp.requests]
    assert len(set(tokens_sent)) == 3  # a fresh token (iat, exp, jti) per attempt
    assert [r.getMessage() for r in caplog.records] == [
        "back-channel logout to client spa answered 503; attempt 1 of 5, retrying",
        "back-channel logout to client spa answered 500; attempt 2 of 5, retrying",
        "back-channel logout delivered to client spa",
    ]
    assert not any(token in caplog.text for token in tokens_sent)


async def test_a_refusal_is_not_retried_and_attempts_are_bounded(flows, rp, outbound, provider, clock) -> None:
    """A 400 (the client refused the token) ends the notification at once; a client that stays down is
    given up after `backchannel_logout_attempts` attempts."""
    await flows.add_user()
    await flows.add_client("spa", backchannel_logout_uri=rp.url + "/logout")
    delivery = LogoutDelivery(provider, outbound)

    rp.statuses = [400]
    await flows.http.get("/end_session", params={"id_token_hint": (await flows.tokens("spa"))["id_token"]})
    assert await delivery.deliver_due() == 0
    clock.advance(NOTIFICATION_LIFETIME - 1)
    assert await delivery.deliver_due() == 0
    assert len(rp.requests) == 1

    rp.requests.clear()
    rp.statuses = [503] * 10
    await flows.http.get("/end_session", params={"id_token_hint": (await flows.tokens("spa"))["id_token"]})
    for _ in range(10):
        await delivery.deliver_due()
        clock.advance(60)
    assert len(rp.requests) == 5
    assert await provider.storage.due_logout_notifications(provider.now(), 10) == []


async def test_a_slow_client_times_out_and_is_retried(flows, rp, outbound, provider, settings, clock) -> None:
    """The POST has a bounded timeout: a client that does not answer costs one timeout, then a retry."""
    from passportoffice.provider.context import Provider

    quick = Provider(
        settings=settings_with(settings, backchannel_logout_timeout=0.3),
        storage=provider.storage,
        secret=provider.secret,
        clock=clock,
    )
    await quick.keyring.ensure_keys(quick.now())
    await flows.add_user()
    await flows.add_client("spa", backchannel_logout_uri=rp.url + "/logout")
    await flows.http.get("/end_session", params={"id_token_hint": (await flows.tokens("spa"))["id_token"]})
    rp.delay = 2
    with anyio.fail_after(1.5):
        assert await LogoutDelivery(quick, outbound).deliver_due() == 0
    rp.delay = 0
    clock.advance(2)
    assert await LogoutDelivery(quick, outbound).deliver_due() == 1


async def test_instances_sharing_the_database_send_each_notification_once(flows, rp, provider) -> None:
    """Several delivery workers (instances) racing over one outbox: each notification is POSTed once."""
    await flows.add_user()
    await flows.add_client("spa", backchannel_logout_uri=rp.url + "/logout")
    for _ in range(3):
        await flows.http.get("/end_session", params={"id_token_hint": (await flows.tokens("spa"))["id_token"]})
        flows.http.cookies.clear()
    async with httpx.AsyncClient() as a, httpx.AsyncClient() as b, httpx.AsyncClient() as c:
        results = []

        async def run(client: httpx.AsyncClient) -> None:
            results.append(await LogoutDelivery(provider, client).deliver_due())

        async with anyio.create_task_group() as tasks:
            for client in (a, b, c):
                tasks.start_soon(run, client)
    assert sum(results) == 3
    assert len(rp.requests) == 3


async def test_k33_ending_all_sessions_of_a_user_announces_each(flows, rp, outbound, provider) -> None:
    """K33 (admin action): ending every session of a user revokes their refresh tokens and notifies
    each client of each session."""
    user = await flows.add_user()
    await flows.add_client("spa", backchannel_logout_uri=rp.url + "/logout")
    first = await flows.tokens("spa", scope="openid")
    flows.http.cookies.clear()
    second = await flows.tokens("spa", scope="openid")

    assert await provider.storage.end_user_sessions(user.id, provider.now()) == 2
    assert await LogoutDelivery(provider, outbound).deliver_due() == 2
    sids = {jwt.decode(r.form()["logout_token"], options={"verify_signature": False})["sid"] for r in rp.requests}
    assert sids == {
        jwt.decode(t["id_token"], options={"verify_signature": False})["sid"] for t in (first, second)
    }
    refreshed = await flows.refresh(first["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
