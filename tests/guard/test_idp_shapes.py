"""Access tokens shaped like other IdPs' (header, claims), with the configuration each one needs.

The shapes follow each vendor's documented access tokens; the keys are made here. What changes per IdP
is only configuration: the exact issuer string, the audience value, and whether `typ` can be required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from passportoffice.guard import InvalidToken
from tests.guard.conftest import MakeVerifier
from tests.guard.support import NOW, Signer, jwks_of

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Shape:
    issuer: str
    audience: str
    required_token_type: str | None
    header: dict[str, Any]
    claims: dict[str, Any]
    subject: str
    client_id: str
    scopes: frozenset[str]
    id_token: dict[str, Any] = field(default_factory=dict)  # the same IdP's ID token, which must fail


SHAPES = {
    # Keycloak: typ JWT in the header, `typ: Bearer` in the claims, `azp` for the client, audience
    # added by an audience mapper next to `account`, roles nested under realm_access/resource_access.
    "keycloak": Shape(
        issuer="https://sso.example/realms/notes",
        audience="notes-api",
        required_token_type="JWT",
        header={"typ": "JWT"},
        claims={
            "exp": NOW + 300, "iat": NOW, "auth_time": NOW - 5, "jti": "onrtac:6c1e6f0d",
            "iss": "https://sso.example/realms/notes", "aud": ["notes-api", "account"],
            "sub": "f:3c1a:alice", "typ": "Bearer", "azp": "notes-spa", "sid": "a1b2", "acr": "1",
            "allowed-origins": ["https://app.example"],
            "realm_access": {"roles": ["offline_access", "default-roles-notes"]},
            "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
            "scope": "openid profile email notes:read", "email_verified": True, "preferred_username": "alice",
        },
        subject="f:3c1a:alice",
        client_id="notes-spa",
        scopes=frozenset({"openid", "profile", "email", "notes:read"}),
        id_token={"typ": "ID", "aud": "notes-spa", "azp": "notes-spa", "nonce": "n-1"},
    ),
    # Auth0: the issuer ends with "/", `aud` lists the API and the userinfo endpoint, `permissions` too.
    "auth0": Shape(
        issuer="https://notes.eu.auth0.com/",
        audience="https://notes.example/api",
        required_token_type="JWT",
        header={"typ": "JWT"},
        claims={
            "iss": "https://notes.eu.auth0.com/", "sub": "auth0|65f0c0ffee",
            "aud": ["https://notes.example/api", "https://notes.eu.auth0.com/userinfo"],
            "iat": NOW, "exp": NOW + 86400, "azp": "Xq2nG7kP0notesSPA", "scope": "openid profile notes:read",
            "permissions": ["notes:read"],
        },
        subject="auth0|65f0c0ffee",
        client_id="Xq2nG7kP0notesSPA",
        scopes=frozenset({"openid", "profile", "notes:read"}),
        id_token={"aud": "Xq2nG7kP0notesSPA", "nonce": "n-1", "name": "Alice"},
    ),
    # Okta (custom authorization server): no typ at all, `cid` for the client, `scp` as an array.
    "okta": Shape(
        issuer="https://notes.okta.com/oauth2/default",
        audience="api://default",
        required_token_type=None,
        header={"typ": None},
        claims={
            "ver": 1, "jti": "AT.q4bO0T9", "iss": "https://notes.okta.com/oauth2/default", "aud": "api://default",
            "iat": NOW, "exp": NOW + 3600, "cid": "0oa1notesspa", "uid": "00u1alice",
            "scp": ["openid", "notes:read"], "auth_time": NOW - 5, "sub": "alice@example.com",
        },
        subject="alice@example.com",
        client_id="0oa1notesspa",
        scopes=frozenset({"openid", "notes:read"}),
        id_token={"aud": "0oa1notesspa", "nonce": "n-1", "amr": ["pwd"], "idp": "00o1"},
    ),
    # Entra ID (v2.0 tokens): typ JWT, an x5t header, `aud` the application id, `scp` a space-separated
    # string, `azp` the client, `tid`/`oid` identities.
    "entra": Shape(
        issuer="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
        audience="6e74172b-be56-4843-9ff4-e66a39bb12e3",
        required_token_type="JWT",
        header={"typ": "JWT", "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg"},
        claims={
            "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
            "iss": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            "iat": NOW, "nbf": NOW, "exp": NOW + 3900, "aio": "AWQAm/8", "azp": "9e8c2b0a-spa",
            "azpacr": "0", "name": "Alice", "oid": "690222be-ff1a", "preferred_username": "alice@contoso.com",
            "rh": "0.AX", "scp": "Notes.Read Notes.Write", "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
            "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "uti": "fqiBqXLPj0eQa82S", "ver": "2.0",
        },
        subject="HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        client_id="9e8c2b0a-spa",
        scopes=frozenset({"Notes.Read", "Notes.Write"}),
        id_token={"aud": "9e8c2b0a-spa", "nonce": "n-1", "scp": None},
    ),
}


@pytest.fixture(scope="module")
def vendor_key() -> Signer:
    return Signer("RS256")  # RS256 is what all four sign access tokens with by default


def verifier_for(make_verifier: MakeVerifier, shape: Shape, signer: Signer) -> Any:
    return make_verifier(
        issuer=shape.issuer,
        audience=shape.audience,
        required_token_type=shape.required_token_type,
        jwks=jwks_of(signer),
    )


@pytest.mark.parametrize("name", SHAPES)
async def test_vendor_access_token_is_accepted(make_verifier: MakeVerifier, vendor_key: Signer, name: str) -> None:
    """Each IdP's access token verifies, with subject, client and scopes read from its own claims."""
    shape = SHAPES[name]
    token = await verifier_for(make_verifier, shape, vendor_key).verify(
        vendor_key.sign(shape.claims, **shape.header), scopes=sorted(shape.scopes)[:1]
    )
    assert (token.subject, token.client_id, token.scopes) == (shape.subject, shape.client_id, shape.scopes)
    assert token.issuer == shape.issuer


@pytest.mark.parametrize("name", SHAPES)
async def test_vendor_id_token_is_refused(make_verifier: MakeVerifier, vendor_key: Signer, name: str) -> None:
    """The same IdP's ID token (same key, same issuer, audience the client) is refused by the API (K24)."""
    shape = SHAPES[name]
    claims = {**shape.claims, **shape.id_token}
    token = vendor_key.sign({key: value for key, value in claims.items() if value is not None}, **shape.header)
    with pytest.raises(InvalidToken) as refused:
        await verifier_for(make_verifier, shape, vendor_key).verify(token)
    assert refused.value.description == "the token is not meant for this API"


@pytest.mark.parametrize("name", SHAPES)
async def test_vendor_issuer_must_match_to_the_character(
    make_verifier: MakeVerifier, vendor_key: Signer, name: str
) -> None:
    """Auth0's trailing slash, Entra's tenant and version path: the configured issuer is compared exactly."""
    shape = SHAPES[name]
    other = shape.issuer[:-1] if shape.issuer.endswith("/") else shape.issuer + "/"
    token = vendor_key.sign({**shape.claims, "iss": other}, **shape.header)
    with pytest.raises(InvalidToken) as refused:
        await verifier_for(make_verifier, shape, vendor_key).verify(token)
    assert refused.value.description == "the token's issuer is not accepted"


async def test_untyped_tokens_need_typ_switched_off_on_purpose(make_verifier: MakeVerifier, vendor_key: Signer) -> None:
    """Okta's untyped token fails the default RFC 9068 rule; it passes only with required_token_type=None."""
    shape = SHAPES["okta"]
    token = vendor_key.sign(shape.claims, **shape.header)
    verifier = make_verifier(issuer=shape.issuer, audience=shape.audience, jwks=jwks_of(vendor_key))
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    assert refused.value.description == "the token is not an access token"
