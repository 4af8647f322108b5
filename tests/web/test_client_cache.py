"""The token endpoint's client cache: a removed or changed client stops working within client_cache_ttl.

The clock fixture moves time; nothing sleeps. The database is changed behind the provider's back, as
`passportoffice clients remove` in another process, or another instance, would.
"""

from __future__ import annotations

import dataclasses

import pytest

from passportoffice.provider.clients import MAX_CACHED_CLIENTS, ClientCache
from passportoffice.storage.records import Client
from tests.support.flows import basic_auth

pytestmark = pytest.mark.anyio


@pytest.fixture
async def service(flows):
    return await flows.add_client(
        "service", secret="service-secret", redirect_uris=(), grant_types=("client_credentials",), scopes=("a",)
    )


async def grant(http, secret: str = "service-secret"):
    return await http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic_auth("service", secret)
    )


async def test_a_removed_client_is_refused_once_the_cache_bound_has_passed(flows, service, provider, clock):
    assert (await grant(flows.http)).status_code == 200
    assert await provider.storage.remove_client("service", provider.now())

    clock.advance(provider.settings.client_cache_ttl)
    response = await grant(flows.http)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_changed_secret_takes_over_once_the_cache_bound_has_passed(flows, service, provider, clock):
    assert (await grant(flows.http)).status_code == 200
    await provider.storage.remove_client("service", provider.now())
    await flows.add_client(
        "service", secret="new-secret", redirect_uris=(), grant_types=("client_credentials",), scopes=("a",)
    )

    clock.advance(provider.settings.client_cache_ttl)
    old = await grant(flows.http)
    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    assert (await grant(flows.http, "new-secret")).status_code == 200


async def test_a_wrong_secret_is_refused_for_a_cached_client(flows, service):
    assert (await grant(flows.http)).status_code == 200
    response = await grant(flows.http, "wrong-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


class CountingStore:
    def __init__(self, *clients: Client) -> None:
        self.clients = {client.client_id: client for client in clients}
        self.reads = 0

    async def get_client(self, client_id: str) -> Client | None:
        self.reads += 1
        return self.clients.get(client_id)


def a_client(client_id: str) -> Client:
    return Client(
        client_id=client_id, token_endpoint_auth_method="none", redirect_uris=(), grant_types=(), scopes=()
    )


async def test_cache_reads_the_store_again_exactly_when_the_bound_is_reached(clock):
    store = CountingStore(a_client("app"))
    cache = ClientCache(store, clock, ttl=5)  # type: ignore[arg-type]
    assert await cache.get("app") == a_client("app")
    clock.advance(4.99)
    store.clients["app"] = dataclasses.replace(a_client("app"), scopes=("changed",))
    assert (await cache.get("app")).scopes == ()
    assert store.reads == 1
    clock.advance(0.01)
    assert (await cache.get("app")).scopes == ("changed",)
    assert store.reads == 2


async def test_cache_never_keeps_unknown_clients(clock):
    store = CountingStore()
    cache = ClientCache(store, clock, ttl=5)  # type: ignore[arg-type]
    assert await cache.get("later") is None
    store.clients["later"] = a_client("later")
    assert await cache.get("later") == a_client("later")  # added a moment ago: works at once
    assert store.reads == 2


async def test_cache_with_ttl_zero_reads_every_time(clock):
    store = CountingStore(a_client("app"))
    cache = ClientCache(store, clock, ttl=0)  # type: ignore[arg-type]
    for _ in range(3):
        assert await cache.get("app") is not None
    assert store.reads == 3


async def test_a_clock_going_backwards_does_not_stretch_the_bound(clock):
    store = CountingStore(a_client("app"))
    cache = ClientCache(store, clock, ttl=5)  # type: ignore[arg-type]
    await cache.get("app")
    clock.advance(-60)
    del store.clients["app"]
    assert await cache.get("app") is None


async def test_cache_holds_at_most_max_entries_and_drops_the_oldest(clock):
    store = CountingStore(*(a_client(f"c{index}") for index in range(MAX_CACHED_CLIENTS + 1)))
    cache = ClientCache(store, clock, ttl=5)  # type: ignore[arg-type]
    for index in range(MAX_CACHED_CLIENTS + 1):
        await cache.get(f"c{index}")
    assert len(cache._entries) == MAX_CACHED_CLIENTS
    reads = store.reads
    await cache.get(f"c{MAX_CACHED_CLIENTS}")  # the newest is still cached
    assert store.reads == reads
    await cache.get("c0")  # the oldest was dropped
    assert store.reads == reads + 1
