"""Two BFF instances behind one load balancer share a store: a session made on one works on the other, and
parallel API calls at token expiry spread over both still cause one refresh at the provider."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest

from tests.bff.conftest import password, sub
from tests.bff.stack import CSRF, Browser, NotesApi, Provider, bff_settings, running_bff
from tests.bff.test_store import REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    import asyncio

    from tests.bff.test_store import _redis_reachable

    try:
        asyncio.run(_redis_reachable())
    except OSError as exc:
        pytest.skip(f"Redis unreachable: {exc!r}")
    return REDIS_URL


def test_two_instances_share_sessions_and_refresh_once(
    provider: Provider, notes_api: NotesApi, bff_ports: tuple[int, int], shared_store: str
) -> None:
    api_url: str = notes_api.url  # type: ignore[attr-defined]
    first = bff_settings(provider, bff_ports[0], api_url, shared_store)
    second = bff_settings(provider, bff_ports[1], api_url, shared_store)
    with running_bff(first, bff_ports[0], notes_api) as one, running_bff(second, bff_ports[1], notes_api) as two:
        browser = Browser(one)
        try:
            browser.login("alice", password(provider, "alice"))
            cookie = browser.jar.header()
            assert httpx.get(two.url + "/bff/user", headers={**cookie, **CSRF}).json()["authenticated"] is True

            refreshes: list[str] = []
            for instance in (one, two):
                original = instance.runtime.oidc.refresh

                async def counted(token: str, original=original, url=instance.url):  # type: ignore[no-untyped-def]
                    refreshes.append(url)
                    return await original(token)

                instance.runtime.oidc.refresh = counted  # type: ignore[method-assign]
            rotations = provider.refresh_rotations(sub(provider, "alice"))
            before = notes_api.count()
            one.clock.offset = two.clock.offset = 600  # the access token is due on both

            def call(index: int) -> int:
                instance = (one, two)[index % 2]
                with httpx.Client(timeout=30) as http:
                    return http.get(instance.url + "/api/notes", headers={**cookie, **CSRF}).status_code

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                assert list(pool.map(call, range(8))) == [200] * 8
            # One refresh request from the two instances together (the store's lease), so also one rotation.
            assert len(refreshes) == 1
            assert provider.refresh_rotations(sub(provider, "alice")) == rotations + 1
            assert len({seen.token for seen in notes_api.seen[before:]}) == 1
        finally:
            browser.close()
