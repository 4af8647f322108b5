"""Fixtures shared by every test: a provider on a real SQLite file, its ASGI app, a frozen clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from passportoffice.provider.context import Provider
from passportoffice.settings import Settings
from passportoffice.storage.database import Database
from passportoffice.storage.sql import SqlStorage
from passportoffice.web.app import create_app
from tests.support.databases import database_url, postgres_server, postgres_url, prepare_database, redis_server
from tests.support.flows import FakeClock, Flows

__all__ = ["database_url", "postgres_server", "postgres_url", "redis_server"]  # fixtures shared with every test folder

ISSUER = "https://idp.example"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Code under test may configure logging (`serve` does); no test leaks that into the next."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    alembic = logging.getLogger("alembic")
    access_disabled, alembic_level = logging.getLogger("uvicorn.access").disabled, alembic.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = access_disabled
    alembic.setLevel(alembic_level)


def settings_for(tmp_path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "issuer": ISSUER,
        "data_dir": tmp_path,
        # Cheap argon2 in tests; the OWASP defaults are checked on their own.
        "argon2_time_cost": 1,
        "argon2_memory_cost": 64,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def make_provider(settings: Settings, clock: FakeClock) -> Provider:
    db = Database(settings.resolved_database_url)
    await prepare_database(db, settings.resolved_database_url)
    provider = Provider(settings=settings, storage=SqlStorage(db), secret=b"0" * 64, clock=clock)
    await provider.keyring.ensure_keys(provider.now())
    return provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.25)


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:
    """Settings for a provider on each backend (the web suite runs on SQLite and on PostgreSQL)."""
    return settings_for(tmp_path, database_url=database_url)


@pytest.fixture
async def provider(settings: Settings, clock: FakeClock) -> AsyncIterator[Provider]:
    provider = await make_provider(settings, clock)
    yield provider
    await provider.storage.close()


@pytest.fixture
async def http(provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(provider, run_cleanup=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
async def flows(provider: Provider, http: httpx.AsyncClient) -> Flows:
    return Flows(provider, http)
