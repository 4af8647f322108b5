"""Logs of a full flow hold no password, secret, code or token."""

from __future__ import annotations

import logging

import pytest

from tests.support.flows import PASSWORD

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-value-that-must-never-be-logged-0123456789"


async def test_logs_of_a_full_flow_contain_no_secrets(flows, caplog):
    """Every secret that crossed the provider during a full flow is absent from every log line."""
    caplog.set_level(logging.DEBUG)
    await flows.add_user()
    await flows.add_client()
    await flows.add_client("service", secret=SECRET, grant_types=("client_credentials",), scopes=("notes:read",))
    auth = await flows.authorize()
    exchanged = await flows.exchange(auth)
    tokens = exchanged.json()
    refreshed = (await flows.refresh(tokens["refresh_token"])).json()
    service = await flows.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("service", SECRET)
    )
    await flows.http.post("/token", data={"grant_type": "client_credentials"}, auth=("service", SECRET + "x"))
    await flows.http.get(
        "/end_session", params={"id_token_hint": refreshed["id_token"], "client_id": "spa"}
    )
    secrets = {
        "password": PASSWORD,
        "client secret": SECRET,
        "code": auth.code,
        "code verifier": auth.verifier,
        "access token": tokens["access_token"],
        "id token": tokens["id_token"],
        "refresh token": tokens["refresh_token"],
        "rotated refresh token": refreshed["refresh_token"],
        "service token": service.json()["access_token"],
    }
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") for record in caplog.records)
    assert "/token" in logged, "the access log should have recorded the requests"
    for name, value in secrets.items():
        assert value not in logged, f"the {name} appeared in the logs"
