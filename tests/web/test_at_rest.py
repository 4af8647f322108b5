"""What the database holds after a full flow: no password, client secret, code, refresh token, session id or
private key in the clear, only keyed hashes and sealed values, so a leaked database dump logs nobody in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from passportoffice.storage.tables import metadata
from tests.support.flows import PASSWORD, BackChannel, basic_auth, bearer

pytestmark = pytest.mark.anyio

SECRET = "confidential-client-secret-0123456789abcdef"


async def database_dump(provider) -> str:
    """Every value of every row of every table, as text (bytes both raw and as latin-1)."""
    values: list[str] = []
    async with provider.storage.db.read() as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(sa.select(table))).all():
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value).decode("latin-1"))
                    values.append(str(value))
    return "\n".join(values)


async def test_the_database_holds_no_secret_in_the_clear(flows, provider):
    await flows.add_user()
    await flows.add_client()
    await flows.add_client("web", secret=SECRET, first_party=True)
    auth = await flows.authorize("web")
    session_id = flows.http.cookies["__Host-passportoffice-session"]
    tokens = (await flows.exchange(auth, "web", headers=basic_auth("web", SECRET))).json()
    rotated = (await flows.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic_auth("web", SECRET),
    )).json()  # fmt: skip
    assert "refresh_token" in rotated, rotated
    public = await flows.tokens()  # a public client's family too
    assert (await flows.http.get("/userinfo", headers=bearer(rotated["access_token"]))).status_code == 200
    assert (await BackChannel(flows.http).revoke(public["access_token"])).status_code == 200

    dump = await database_dump(provider)

    assert provider.hash(tokens["refresh_token"]) in dump, "the dump should hold the refresh token's hash"
    never = {
        "password": PASSWORD,
        "client secret": SECRET,
        "code": auth.code,
        "session id": session_id,
        "refresh token": tokens["refresh_token"],
        "rotated refresh token (the successor kept for the reuse window is sealed)": rotated["refresh_token"],
        "rotated access token": rotated["access_token"],
        "public client's refresh token": public["refresh_token"],
    }
    for name, value in never.items():
        assert value not in dump, f"the {name} is stored in the clear"
    assert "PRIVATE KEY" not in dump
