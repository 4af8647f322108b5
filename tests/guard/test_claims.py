"""Claims: exact issuer, audience equal or contained, one leeway for every time, typed dates, scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from passportoffice.guard import InsufficientScope, InvalidToken, TokenVerifier, VerifiedToken
from passportoffice.guard.claims import ClaimRules
from tests.guard.conftest import MakeVerifier
from tests.guard.support import AUDIENCE, NOW, Signer, access_claims
from tests.support.flows import FakeClock

pytestmark = pytest.mark.anyio


async def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    assert refused.value.error == "invalid_token"
    return refused.value.description


@pytest.mark.parametrize(
    "iss",
    ["http", "https://test.example.com", "https://test.example.com/auth/", "https://test.example.com/auth/x",
     "https://test.example.com/authx", "HTTPS://test.example.com/auth", ["https://test.example.com/auth"], None],
)
async def test_k19_issuer_is_compared_exactly(make_verifier: MakeVerifier, es256: Signer, iss: Any) -> None:
    """K19: a substring, prefix, extension, case change, list or absence of the issuer is refused."""
    verifier = make_verifier(issuer="https://test.example.com/auth")
    assert (await verifier.verify(es256.token(iss="https://test.example.com/auth"))).issuer == (
        "https://test.example.com/auth"
    )
    assert await refusal(verifier, es256.token(iss=iss) if iss is not None else es256.sign(
        {k: v for k, v in access_claims(iss="https://test.example.com/auth").items() if k != "iss"}
    )) == "the token's issuer is not accepted"


async def test_k23_audience_array_containing_ours_is_accepted(verifier: TokenVerifier, es256: Signer) -> None:
    """K23: `aud` as an array is accepted when it contains this API, and the whole array is reported."""
    token = await verifier.verify(es256.token(aud=["https://other.example", AUDIENCE]))
    assert token.audience == ("https://other.example", AUDIENCE)


@pytest.mark.parametrize(
    ("aud", "description"),
    [
        (["https://other.example"], "the token is not meant for this API"),
        ("https://other.example", "the token is not meant for this API"),
        (AUDIENCE + "/", "the token is not meant for this API"),
        ("https://api.example.evil", "the token is not meant for this API"),
        ("https://api", "the token is not meant for this API"),
        ([], "the token's audience is malformed"),
        ([AUDIENCE, 7], "the token's audience is malformed"),
        ({"aud": AUDIENCE}, "the token's audience is malformed"),
        (7, "the token's audience is malformed"),
    ],
)
async def test_k23_audience_refusals(verifier: TokenVerifier, es256: Signer, aud: Any, description: str) -> None:
    """K23: another audience, a look-alike, an empty or mixed array, a non-string: refused."""
    assert await refusal(verifier, es256.token(aud=aud)) == description


async def test_missing_audience_is_refused(verifier: TokenVerifier, es256: Signer) -> None:
    """A token without `aud` is refused: it would be valid at every API of the issuer."""
    claims = access_claims()
    del claims["aud"]
    assert await refusal(verifier, es256.sign(claims)) == "the token has no audience"


async def test_several_configured_audiences(make_verifier: MakeVerifier, es256: Signer) -> None:
    """An API known under two identifiers accepts either."""
    verifier = make_verifier(audience=["api://notes", AUDIENCE])
    assert (await verifier.verify(es256.token(aud="api://notes"))).audience == ("api://notes",)
    assert (await verifier.verify(es256.token(aud=AUDIENCE))).audience == (AUDIENCE,)


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"nbf": NOW + 1}, True),
        ({"nbf": NOW + 60}, True),
        ({"nbf": NOW + 61}, False),
        ({"nbf": NOW + 600}, False),
        ({"iat": NOW + 1}, True),
        ({"iat": NOW + 60}, True),
        ({"iat": NOW + 61}, False),
        ({"exp": NOW}, True),
        ({"exp": NOW - 59}, True),
        ({"exp": NOW - 60}, False),
        ({"exp": NOW - 600}, False),
    ],
)
async def test_k22_one_leeway_in_every_time_comparison(
    make_verifier: MakeVerifier, es256: Signer, clock: FakeClock, claims: dict[str, int], accepted: bool
) -> None:
    """K22: `nbf` one second ahead passes, ten minutes ahead fails; the same 60 s applies to `iat` and `exp`."""
    clock.now = NOW  # on the second, to make the boundaries exact
    verifier = make_verifier()
    token = es256.token(**claims)
    if accepted:
        assert (await verifier.verify(token)).subject == "user-1234"
    else:
        assert await refusal(verifier, token) in {
            "the token is not valid yet", "the token was issued in the future", "the token has expired"
        }


async def test_k22_zero_leeway(make_verifier: MakeVerifier, es256: Signer, clock: FakeClock) -> None:
    """With leeway 0, a token not valid for one more second is refused, and expiry is exact."""
    clock.now = NOW
    verifier = make_verifier(leeway=0)
    assert await refusal(verifier, es256.token(nbf=NOW + 1)) == "the token is not valid yet"
    assert await refusal(verifier, es256.token(exp=NOW)) == "the token has expired"
    assert (await verifier.verify(es256.token(exp=NOW + 1))).expires_at == NOW + 1


@pytest.mark.parametrize(
    ("name", "value", "description"),
    [
        ("exp", str(NOW + 600), "the token's expiry is malformed"),
        ("exp", True, "the token's expiry is malformed"),
        ("exp", [NOW + 600], "the token's expiry is malformed"),
        ("nbf", str(NOW), "the token's not-before time is malformed"),
        ("nbf", False, "the token's not-before time is malformed"),
        ("nbf", None, "the token's not-before time is malformed"),
        ("iat", str(NOW), "the token's issue time is malformed"),
        ("iat", True, "the token's issue time is malformed"),
    ],
)
async def test_numeric_dates_must_be_numbers(
    verifier: TokenVerifier, es256: Signer, name: str, value: Any, description: str
) -> None:
    """RFC 7519 §2: NumericDates are JSON numbers; strings, booleans, arrays and null are refused."""
    claims = access_claims()
    claims[name] = value
    assert await refusal(verifier, es256.sign(claims)) == description


@pytest.mark.parametrize("value", ["1e999", "-1e999", "Infinity", "NaN"])
async def test_infinite_dates_are_refused(verifier: TokenVerifier, es256: Signer, value: str) -> None:
    """`exp` of 1e999 (parsed as infinity) never expires, so it is refused; NaN and Infinity are not JSON."""
    payload = json.dumps(access_claims())[:-1] + f', "exp": {value}' + "}"
    payload = payload.replace(f'"exp": {NOW + 600}, ', "")
    assert await refusal(verifier, es256.sign(payload)) in {
        "the token's expiry is malformed", "the token is malformed"
    }


async def test_fractional_dates_are_numbers(verifier: TokenVerifier, es256: Signer) -> None:
    """Floats are valid NumericDates (RFC 7519 §2)."""
    assert (await verifier.verify(es256.token(exp=NOW + 600.5, iat=NOW - 0.5))).expires_at == NOW + 600.5


async def test_missing_expiry_is_refused(verifier: TokenVerifier, es256: Signer) -> None:
    """A token without `exp` would be valid forever: refused."""
    claims = access_claims()
    del claims["exp"]
    assert await refusal(verifier, es256.sign(claims)) == "the token has no expiry"


async def test_k24_id_token_is_not_an_access_token(make_verifier: MakeVerifier, es256: Signer) -> None:
    """K24: the user's ID token (typ JWT, aud the client) is refused; with typ unchecked, its aud still fails."""
    id_token = es256.sign(
        {"iss": "https://idp.example", "sub": "user-1234", "aud": "notes-spa", "exp": NOW + 600, "iat": NOW,
         "nonce": "n-0S6_WzA2Mj", "auth_time": NOW, "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"},
        typ="JWT",
    )
    assert await refusal(make_verifier(), id_token) == "the token is not an access token"
    assert await refusal(make_verifier(required_token_type=None), id_token) == "the token is not meant for this API"


async def test_sender_constrained_tokens_are_refused(verifier: TokenVerifier, es256: Signer) -> None:
    """A DPoP- or mTLS-bound token (`cnf`) is refused: accepting it as a bearer token drops its binding."""
    for confirmation in ({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, {"x5t#S256": "bwcK0esc3ACC3DB2Y5"}):
        assert await refusal(verifier, es256.token(cnf=confirmation)) == (
            "sender-constrained tokens are not accepted as bearer tokens"
        )


@pytest.mark.parametrize(("name", "value"), [("sub", 42), ("sub", ["a"]), ("client_id", 7), ("azp", {"a": 1})])
async def test_subject_and_client_must_be_strings(
    verifier: TokenVerifier, es256: Signer, name: str, value: Any
) -> None:
    """`sub` and the client identifier, when present, are strings."""
    claims = access_claims(client_id=None) if name == "azp" else access_claims()
    claims[name] = value
    assert await refusal(verifier, es256.sign(claims)) == "the token's subject or client is malformed"


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "notes:read  notes:write"}, {"notes:read", "notes:write"}),
        ({"scope": ""}, set()),
        ({"scope": None, "scp": ["notes:read", "openid"]}, {"notes:read", "openid"}),
        ({"scope": None, "scp": "notes.read notes.write"}, {"notes.read", "notes.write"}),
        ({"scope": "notes:read", "scp": ["admin"]}, {"notes:read"}),
        ({"scope": None}, set()),
        ({"scope": ["notes:read", "openid"]}, {"notes:read", "openid"}),
    ],
)
async def test_scopes_from_scope_or_scp(
    verifier: TokenVerifier, es256: Signer, claims: dict[str, Any], scopes: set[str]
) -> None:
    """`scope` wins (a string, RFC 9068; or an array, as Spring Authorization Server writes it); otherwise `scp`,
    an array (Okta) or a string (Entra ID)."""
    assert (await verifier.verify(es256.token(**claims))).scopes == scopes


@pytest.mark.parametrize("claims", [{"scope": ["notes:read", 2]}, {"scope": 7}, {"scope": None, "scp": ["a", 1]},
                                    {"scope": None, "scp": {"a": 1}}])
async def test_malformed_scopes_are_refused(verifier: TokenVerifier, es256: Signer, claims: dict[str, Any]) -> None:
    """A scope claim of the wrong type is refused rather than read as no scopes."""
    assert await refusal(verifier, es256.token(**claims)) == "the token's scope is malformed"


async def test_insufficient_scope_names_every_scope_needed(verifier: TokenVerifier, es256: Signer) -> None:
    """Missing scopes raise InsufficientScope (403) with all the scopes the request needs (RFC 6750 §3.1)."""
    token = es256.token(scope="notes:read")
    assert (await verifier.verify(token, scopes=("notes:read",))).scopes == {"notes:read"}
    for needed in (("notes:read", "notes:write"), "notes:read notes:write"):
        with pytest.raises(InsufficientScope) as refused:
            await verifier.verify(token, scopes=needed)
        assert refused.value.error == "insufficient_scope"
        assert refused.value.status_code == 403
        assert refused.value.scopes == ("notes:read", "notes:write")
        assert refused.value.scope == "notes:read notes:write"


async def test_verified_token_reports_the_claims(verifier: TokenVerifier, es256: Signer) -> None:
    """The result carries the claims (read-only) and the fields an API needs."""
    token = await verifier.verify(es256.token())
    assert (token.subject, token.client_id, token.issuer) == ("user-1234", "notes-spa", "https://idp.example")
    assert token.audience == (AUDIENCE,)
    assert token.expires_at == NOW + 600
    assert token.claims["jti"] == "jti-0001"
    assert token.has_scopes("notes:read") and not token.has_scopes("notes:admin")
    with pytest.raises(TypeError):
        token.claims["sub"] = "admin"  # type: ignore[index]
    with pytest.raises(AttributeError):
        token.subject = "admin"  # type: ignore[misc]


async def test_client_id_falls_back_to_azp(verifier: TokenVerifier, es256: Signer) -> None:
    """Without `client_id` (RFC 9068), `azp` names the client (OpenID Connect, Auth0, Keycloak, Entra v2)."""
    assert (await verifier.verify(es256.token(client_id=None, azp="spa-2"))).client_id == "spa-2"
    assert (await verifier.verify(es256.token(client_id=None))).client_id is None


def test_remembered_scope_sets_stay_bounded_and_right() -> None:
    """Split `scope` strings are remembered for speed: each token still gets exactly its own scopes, and a
    flood of distinct strings never grows the memory past its bound."""
    rules = ClaimRules("https://idp.example", frozenset({AUDIENCE}), 60)
    for number in range(1000):
        claims = access_claims(iss="https://idp.example", scope=f"notes:read s{number}")
        assert rules.check(claims, NOW).scopes == {"notes:read", f"s{number}"}
        assert len(rules._scope_sets) <= 256
    again = rules.check(access_claims(iss="https://idp.example", scope="notes:read s999"), NOW)
    assert again.scopes == {"notes:read", "s999"}
    assert type(again) is VerifiedToken and again.subject == "user-1234"
