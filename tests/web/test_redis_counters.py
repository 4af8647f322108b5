"""Redis for the security counters (`redis_url`): refused in one line at start-up when it does not answer,
and a clear 503 (never a 500 or a sign-in that skips throttling) when it goes away while serving."""

from __future__ import annotations

import httpx
import pytest

from passportoffice.bootstrap import ConfigError, load_settings, open_provider
from passportoffice.storage.redis_counters import RedisCounters, SqlStorageWithRedisCounters
from passportoffice.storage.sql import SqlStorage
from passportoffice.web.app import create_app
from tests.conftest import ISSUER
from tests.support.flows import Flows, authorization_params

pytestmark = pytest.mark.anyio

NOBODY = "redis://:hunter2@127.0.0.1:1/0"  # nothing listens on port 1


async def test_unreachable_redis_is_a_one_line_error_without_the_password(tmp_path, monkeypatch) -> None:
    """Start-up pings Redis: one line naming host and port, never the password."""
    for name in ("PASSPORTOFFICE_DATABASE_URL", "PASSPORTOFFICE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(data_dir=tmp_path, redis_url=NOBODY)
    with pytest.raises(ConfigError) as caught:
        await open_provider(settings, migrate=True)
    message = str(caught.value)
    assert message.startswith("cannot use Redis at redis://127.0.0.1:1: ")
    assert "hunter2" not in message and "\n" not in message


async def test_redis_gone_while_serving_makes_sign_in_503(provider, flows: Flows) -> None:
    """A sign-in while Redis is down is 503 temporarily_unavailable: the password is never checked
    without its throttle counter (K30)."""
    await flows.add_user()
    await flows.add_client()
    assert isinstance(provider.storage, SqlStorage)
    provider.storage = SqlStorageWithRedisCounters(provider.storage.db, RedisCounters(NOBODY))
    app = create_app(provider, run_cleanup=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        signing_in = Flows(provider, http)
        started = await http.get("/authorize", params=authorization_params())
        answer = await signing_in.login(started)
    assert answer.status_code == 503
    assert "temporarily" in answer.text
