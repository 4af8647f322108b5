"""Provider metadata (OIDC Discovery 1.0 §3-§4, RFC 8414 §3) and the JWK Set (RFC 7517 §5), with key rotation."""

from __future__ import annotations

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from passportoffice.crypto.keys import open_private_key
from passportoffice.crypto.secretbox import DecryptionError, derive_key
from passportoffice.provider.context import Provider
from passportoffice.provider.keyring import RELOAD_INTERVAL
from passportoffice.storage.database import Database
from passportoffice.storage.sql import SqlStorage
from passportoffice.storage.tables import signing_keys
from passportoffice.web.app import create_app
from tests.support.flows import bearer, verify_with_jwks

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


@pytest.fixture
async def alice(flows):
    return await flows.add_user()


@pytest.fixture
async def spa(flows):
    return await flows.add_client()


async def kids_in_jwks(http) -> set[str]:
    return {key["kid"] for key in (await http.get("/jwks")).json()["keys"]}


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


async def test_both_well_known_documents_are_identical(http):
    """/.well-known/openid-configuration and /.well-known/oauth-authorization-server serve the same metadata."""
    oidc = await http.get("/.well-known/openid-configuration")
    oauth = await http.get("/.well-known/oauth-authorization-server")
    assert oidc.status_code == oauth.status_code == 200
    assert oidc.json() == oauth.json()


async def test_discovery_advertises_exactly_what_is_supported(http):
    """The issuer is exact, only the code flow with S256 is offered, and iss is in authorization responses."""
    metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == ISSUER
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "password" not in metadata["grant_types_supported"]
    assert "implicit" not in metadata["grant_types_supported"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert "none" not in metadata["id_token_signing_alg_values_supported"]


async def test_discovery_endpoints_are_under_the_issuer_and_served(http):
    """Every advertised endpoint is the issuer plus a path, and the JWKS URI answers."""
    metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["authorization_endpoint"] == ISSUER + "/authorize"
    assert metadata["token_endpoint"] == ISSUER + "/token"
    assert metadata["userinfo_endpoint"] == ISSUER + "/userinfo"
    assert metadata["revocation_endpoint"] == ISSUER + "/revoke"
    assert metadata["introspection_endpoint"] == ISSUER + "/introspect"
    assert metadata["end_session_endpoint"] == ISSUER + "/end_session"
    assert metadata["jwks_uri"] == ISSUER + "/jwks"
    assert (await http.get(metadata["jwks_uri"].removeprefix(ISSUER))).status_code == 200


async def test_one_issuer_string_everywhere(flows, alice, spa):
    """The metadata issuer is byte-for-byte the iss of every token and of the authorization response."""
    issuer = (await flows.http.get("/.well-known/openid-configuration")).json()["issuer"]
    auth = await flows.authorize()
    assert auth.params["iss"] == issuer
    tokens = (await flows.exchange(auth)).json()
    for name in ("access_token", "id_token"):
        assert jwt.decode(tokens[name], options={"verify_signature": False})["iss"] == issuer


async def test_jwks_has_rs256_and_es256_public_keys_with_distinct_kids(http):
    """The JWKS publishes an RS256 and an ES256 key, each with its own kid and no private members."""
    response = await http.get("/jwks")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    keys = response.json()["keys"]
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}
    assert len({key["kid"] for key in keys}) == len(keys)
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key), key
        assert key["use"] == "sig"
        assert {"RS256": "RSA", "ES256": "EC"}[key["alg"]] == key["kty"]


async def test_tokens_verify_against_the_published_keys(flows, alice, spa):
    """Both tokens verify with a key fetched from the JWKS by kid (ID token RS256, access token ES256)."""
    tokens = await flows.tokens()
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == "RS256"
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "ES256"
    await verify_with_jwks(flows.http, tokens["id_token"], audience="spa")
    await verify_with_jwks(flows.http, tokens["access_token"], audience=ISSUER)


async def test_rotation_publishes_new_keys_before_they_sign(flows, provider, clock, alice, spa):
    """After rotate, the new keys are in the JWKS at once, but tokens keep the old kids until activation."""
    before = await flows.tokens()
    old_kids = {kid_of(before["access_token"]), kid_of(before["id_token"])}
    new_kids = set(await provider.keyring.rotate(provider.now()))
    published = await kids_in_jwks(flows.http)
    assert new_kids <= published
    assert old_kids <= published

    clock.advance(provider.settings.key_activation_delay - 1)
    pending = await flows.tokens()
    assert {kid_of(pending["access_token"]), kid_of(pending["id_token"])} == old_kids

    clock.advance(1)
    after = await flows.tokens()
    assert {kid_of(after["access_token"]), kid_of(after["id_token"])} == new_kids
    await verify_with_jwks(flows.http, after["id_token"], audience="spa")


async def test_tokens_signed_by_the_retired_key_stay_valid_until_they_expire(flows, provider, clock, alice, spa):
    """A token the old key signed just before activation still works at userinfo after the switch."""
    await provider.keyring.rotate(provider.now())
    clock.advance(provider.settings.key_activation_delay - 1)
    last_old = await flows.tokens()
    clock.advance(2)
    response = await flows.http.get("/userinfo", headers=bearer(last_old["access_token"]))
    assert response.status_code == 200, response.text


async def test_retired_key_leaves_the_jwks_once_its_tokens_have_expired(flows, provider, clock, alice, spa):
    """The retired public key stays published until every token it signed expired, then disappears."""
    old_kids = await kids_in_jwks(flows.http)
    await provider.keyring.rotate(provider.now())
    clock.advance(provider.settings.key_activation_delay - 1)
    last_old = await flows.tokens()
    last_exp = jwt.decode(last_old["access_token"], options={"verify_signature": False})["exp"]
    clock.advance(last_exp - provider.now())  # the last token it signed has just expired
    assert old_kids <= await kids_in_jwks(flows.http)
    clock.advance(max(provider.settings.access_token_ttl, provider.settings.id_token_ttl) + 60)
    remaining = await kids_in_jwks(flows.http)
    assert not old_kids & remaining
    assert len(remaining) == 2


async def test_private_keys_are_stored_sealed_under_the_instance_secret(provider):
    """The database holds every private key encrypted (AES-GCM, key derived from the instance secret): no PEM,
    no private number in it, and another secret cannot open it."""
    async with provider.storage.db.read() as connection:
        rows = (await connection.execute(sa.select(signing_keys))).all()
    assert len(rows) == 2
    other_secret = derive_key(b"1" * 64, "passportoffice/signing-keys")
    for row in rows:
        private_key = provider.keyring.verification_key(row.kid).private_key
        sealed = bytes(row.private_key_encrypted)
        der = private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        assert b"PRIVATE KEY" not in sealed
        assert der[-32:] not in sealed and pem.splitlines()[1] not in sealed
        assert not PRIVATE_MEMBERS & set(row.public_jwk)
        with pytest.raises(DecryptionError):
            open_private_key(sealed, row.kid, other_secret)


async def test_instances_sharing_a_database_share_keys_and_rotations(flows, provider, settings, clock, alice, spa):
    """A second instance on the same database and secret publishes the same JWKS and accepts the first one's
    tokens; a rotation made on it reaches the first instance before the new keys sign."""
    other = Provider(
        settings=settings, storage=SqlStorage(Database(settings.resolved_database_url)), secret=b"0" * 64, clock=clock
    )
    await other.keyring.reload(other.now())  # what its start-up does
    transport = httpx.ASGITransport(app=create_app(other, run_cleanup=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as second:
            assert (await second.get("/jwks")).json() == (await flows.http.get("/jwks")).json()
            first_tokens = await flows.tokens()
            assert (await second.get("/userinfo", headers=bearer(first_tokens["access_token"]))).status_code == 200

            new_kids = set(await other.keyring.rotate(other.now()))  # `keys rotate` next to the second instance
            clock.advance(RELOAD_INTERVAL)
            assert new_kids <= await kids_in_jwks(flows.http)
            clock.advance(provider.settings.key_activation_delay - RELOAD_INTERVAL)
            after = await flows.tokens()
            assert {kid_of(after["access_token"]), kid_of(after["id_token"])} == new_kids
            assert (await second.get("/userinfo", headers=bearer(after["access_token"]))).status_code == 200
    finally:
        await other.storage.close()
