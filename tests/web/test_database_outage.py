"""A database that goes away: clear 503s (never a hang or a stack trace), and recovery without a restart.

PostgreSQL is reached through a TCP proxy the test can cut: cutting closes every live connection and
refuses new ones, which is what a database restart or a network partition looks like to the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from passportoffice.web.app import create_app
from tests.conftest import ISSUER, make_provider, settings_for
from tests.support.flows import FakeClock, Flows, basic_auth

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the database server until `cut()`, and again after `restore()`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[CuttableProxy]:
    url = sa.make_url(postgres_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.restore()
    yield proxy
    if proxy._server is not None:
        await proxy.cut()


@pytest.fixture
async def http(tmp_path, postgres_url: str, proxy: CuttableProxy) -> AsyncIterator[httpx.AsyncClient]:
    through_proxy = sa.make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    # No client cache: every token request must reach the database here (a cached client would still,
    # rightly, get client credentials tokens during an outage, for at most client_cache_ttl seconds).
    settings = settings_for(
        tmp_path, database_url=through_proxy.render_as_string(hide_password=False), client_cache_ttl=0
    )
    provider = await make_provider(settings, FakeClock(1_800_000_000))
    await Flows(provider, httpx.AsyncClient()).add_client(
        "service", secret="service-secret", grant_types=("client_credentials",), audience="https://api.example"
    )
    app = create_app(provider, run_cleanup=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as client:
        yield client
    await provider.storage.close()


async def _token(http: httpx.AsyncClient) -> httpx.Response:
    # A bound well above the provider's own (5 s connect timeout): the provider must answer, not hang.
    return await asyncio.wait_for(
        http.post("/token", data={"grant_type": "client_credentials"}, headers=basic_auth("service", "service-secret")),
        timeout=20,
    )


async def test_database_outage_is_a_503_and_the_provider_recovers_by_itself(http, proxy):
    assert (await _token(http)).status_code == 200
    assert (await http.get("/readyz")).status_code == 200

    await proxy.cut()
    down = await _token(http)
    assert down.status_code == 503
    assert down.json()["error"] == "temporarily_unavailable"
    assert down.headers["cache-control"] == "no-store"
    assert "Traceback" not in down.text and "asyncpg" not in down.text
    ready = await asyncio.wait_for(http.get("/readyz"), timeout=20)
    assert ready.status_code == 503
    assert (await http.get("/healthz")).status_code == 200  # the process itself is fine

    await proxy.restore()
    back = await _token(http)
    assert back.status_code == 200, back.text
    assert back.json()["token_type"] == "Bearer"
    assert (await http.get("/readyz")).status_code == 200


async def test_every_kind_of_endpoint_answers_503_while_the_database_is_down(http, proxy):
    """Pages get a 503 error page (with the HTML security headers), APIs a 503 JSON or Bearer error; none hangs."""
    from tests.support.flows import authorization_params, error_code

    token = (await _token(http)).json()["access_token"]
    await proxy.cut()
    page = await asyncio.wait_for(http.get("/authorize", params=authorization_params()), timeout=20)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert error_code(page) == "temporarily_unavailable"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "Traceback" not in page.text
    introspection = await asyncio.wait_for(
        http.post("/introspect", data={"token": token}, headers=basic_auth("service", "service-secret")), timeout=20
    )
    assert (introspection.status_code, introspection.json()["error"]) == (503, "temporarily_unavailable")
    userinfo = await asyncio.wait_for(http.get("/userinfo", headers={"Authorization": "Bearer " + token}), timeout=20)
    assert userinfo.status_code == 503
    assert userinfo.json()["error"] == "temporarily_unavailable"
    await proxy.restore()
    assert (await http.post("/introspect", data={"token": token}, headers=basic_auth("service", "service-secret"))
            ).json()["active"] is True
