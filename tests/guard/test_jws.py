"""The compact JWS step refuses forged and malformed tokens cheaply, and never raises anything but InvalidToken."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from passportoffice.guard import InvalidToken, TokenVerifier
from passportoffice.guard.jws import parse_json_object, parse_payload
from tests.guard.conftest import MakeVerifier
from tests.guard.support import Signer, access_claims, b64, compact, jwks_of

pytestmark = pytest.mark.anyio

UNSUPPORTED_EXTENSION = "the token requires an extension this API does not support"


async def refusal(verifier: TokenVerifier, token: object) -> str:
    """The description of the InvalidToken that `token` is refused with."""
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)  # type: ignore[arg-type]
    assert refused.value.error == "invalid_token"
    return refused.value.description


async def test_a_valid_token_verifies(verifier: TokenVerifier, es256: Signer, rs256: Signer) -> None:
    """The baseline the refusals below differ from: our provider's token shape, ES256 and RS256."""
    for signer in (es256, rs256):
        token = await verifier.verify(signer.token())
        assert token.subject == "user-1234"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_k17_alg_none_is_refused(verifier: TokenVerifier, es256: Signer, alg: str) -> None:
    """K17: an unsecured JWS is refused, with an empty signature or any other."""
    header = {"alg": alg, "typ": "at+jwt", "kid": es256.kid}
    assert await refusal(verifier, compact(header, access_claims()).rsplit(".", 1)[0] + ".") == (
        "unsigned tokens are not accepted"
    )
    assert await refusal(verifier, compact(header, access_claims())) == "unsigned tokens are not accepted"


async def test_k16_hmac_with_the_public_key_as_secret_is_refused(verifier: TokenVerifier, rs256: Signer) -> None:
    """K16: HS256 "signed" with the RSA public key (PEM or JWK text) is refused: HMAC is never allowed."""
    public = rs256.key.private_key.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (pem, json.dumps(rs256.jwk).encode()):
        header = {"alg": "HS256", "typ": "at+jwt", "kid": rs256.kid}
        signing_input = f"{b64(json.dumps(header))}.{b64(json.dumps(access_claims()))}"
        signature = jwt.get_algorithm_by_name("HS256").sign(signing_input.encode(), secret)
        assert await refusal(verifier, f"{signing_input}.{b64(signature)}") == "the token's algorithm is not accepted"


async def test_k16_hmac_with_an_openssh_ed25519_key_is_refused(make_verifier: MakeVerifier) -> None:
    """K16 as reported: the verifier holds an Ed25519 key; an HS256 token keyed with its OpenSSH text fails."""
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key()
    jwk = {**json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public)), "kid": "ed", "alg": "EdDSA"}
    verifier = make_verifier(jwks={"keys": [jwk]})
    openssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": "ed"}
    signing_input = f"{b64(json.dumps(header))}.{b64(json.dumps(access_claims()))}"
    signature = jwt.get_algorithm_by_name("HS256").sign(signing_input.encode(), openssh)
    assert await refusal(verifier, f"{signing_input}.{b64(signature)}") == "the token's algorithm is not accepted"
    # The same key does verify a genuine EdDSA token: the refusal is about the algorithm, not the key.
    genuine = jwt.encode(access_claims(), private, algorithm="EdDSA", headers={"kid": "ed", "typ": "at+jwt"})
    assert (await verifier.verify(genuine)).subject == "user-1234"


def test_hmac_and_none_cannot_be_allowed() -> None:
    """No configuration enables an algorithm that could use a public key as a secret."""
    for algorithms in (["HS256"], ["RS256", "none"], ["HS512", "ES256"], []):
        with pytest.raises(ValueError):
            TokenVerifier("https://idp.example", "https://api.example", algorithms=algorithms)


async def test_the_algorithm_comes_from_the_key(verifier: TokenVerifier, rs256: Signer, es256: Signer) -> None:
    """A header naming another algorithm than its key's (the JWK's `alg`) is refused, even an allowed one."""
    rsa_signed = rs256.token()
    _, payload, signature = rsa_signed.split(".")
    for alg in ("ES256", "PS256", "RS512"):
        header = b64(json.dumps({"alg": alg, "typ": "at+jwt", "kid": rs256.kid}))
        forged = f"{header}.{payload}.{signature}"
        assert await refusal(verifier, forged) == "the token's algorithm does not match its key"
    header = b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": es256.kid}))
    assert await refusal(verifier, f"{header}.{payload}.{signature}") == "the token's algorithm does not match its key"


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c"])
async def test_k18_embedded_keys_are_never_trusted(verifier: TokenVerifier, es256: Signer, member: str) -> None:
    """K18: an attacker's key embedded in (or linked from) the header is ignored; the JWKS alone decides."""
    attacker = Signer("ES256")
    embedded = {
        "jwk": attacker.jwk,
        "jku": "https://attacker.test/jwks",
        "x5u": "https://attacker.test/cert.pem",
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    }[member]
    # Under the attacker's own kid: not in the issuer's JWKS.
    assert await refusal(verifier, attacker.sign(access_claims(), **{member: embedded})) == (
        "the token was signed with an unknown key"
    )
    # Under the issuer's kid: the issuer's key does not verify the attacker's signature.
    forged = attacker.sign(access_claims(), kid=es256.kid, **{member: embedded})
    assert await refusal(verifier, forged) == "the token's signature is invalid"


async def test_k40_huge_token_is_refused_before_decoding(
    verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K40: a 64 MB bearer token is refused on its length alone: not one segment of it is decoded."""

    class NoDecoding:
        @staticmethod
        def a2b_base64(*_args: object, **_kwargs: object) -> bytes:
            raise AssertionError("a segment of an oversized token was decoded")

        Error = ValueError

    monkeypatch.setattr("passportoffice.guard.jws.binascii", NoDecoding)
    huge = "eyJ" + "A" * (64 * 1024 * 1024) + ".e30.c2ln"
    assert await refusal(verifier, huge) == "the token is too large"


async def test_k40_large_header_is_refused_before_decoding(verifier: TokenVerifier) -> None:
    """K40: a header segment over 2 KiB is refused even when the whole token is under the size cap."""
    header = {"alg": "ES256", "typ": "at+jwt", "pad": "x" * 3000}
    assert await refusal(verifier, compact(header, access_claims())) == "the token header is too large"


async def test_jwe_is_refused(verifier: TokenVerifier) -> None:
    """A five-part compact JWE is refused as such (RFC 7516 §9), not decrypted or half-parsed."""
    jwe = (
        "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
        "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b."
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ"
    )
    assert await refusal(verifier, jwe) == "encrypted tokens (JWE) are not accepted"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="one segment"),
        pytest.param("a.b", id="two segments"),
        pytest.param("a.b.c.d", id="four segments"),
        pytest.param("e30.e30.c2ln.x.y.z", id="six segments"),
        pytest.param(compact("not json", {"a": 1}), id="header not JSON"),
        pytest.param(compact("[1, 2]", {"a": 1}), id="header an array"),
        pytest.param(compact('"alg"', {"a": 1}), id="header a string"),
        pytest.param(b64(b"\xff\xfe{}") + ".e30.c2ln", id="header not UTF-8"),
        pytest.param(compact('{"alg":"ES256","alg":"none"}', {"a": 1}), id="duplicate header names"),
        pytest.param(compact('{"alg":"ES256","x":NaN}', {"a": 1}), id="NaN in header"),
        pytest.param("eyJhbGciOiJFUzI1NiJ9+.e30.c2ln", id="plus sign in header"),
        pytest.param("eyJhbGciOiJFUzI1NiJ9 .e30.c2ln", id="space in header"),
        pytest.param("eyJhbGciOiJFUzI1NiJ9.é30.c2ln", id="non-ASCII"),
        pytest.param("eyJhbGciOiJFUzI1NiJ9A.e30.c2ln", id="impossible length"),
    ],
)
async def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    """Malformed segments, alphabets, encodings and headers: one InvalidToken, nothing else."""
    assert await refusal(verifier, token) == "the token is malformed"


@pytest.mark.parametrize(
    ("segment", "edit"),
    [
        pytest.param(1, lambda text: text + "=", id="padding on the payload"),
        pytest.param(2, lambda text: text + "==", id="padding on the signature"),
        pytest.param(1, lambda text: text[:5] + "+" + text[6:], id="plus sign in the payload"),
        pytest.param(2, lambda text: text[:5] + "/" + text[6:], id="slash in the signature"),
        pytest.param(2, lambda text: text + "\n", id="newline after the signature"),
        pytest.param(2, lambda text: text + "AAA", id="signature of impossible length"),
    ],
)
async def test_malformed_payload_or_signature_segments_are_refused(
    verifier: TokenVerifier, es256: Signer, segment: int, edit: Callable[[str], str]
) -> None:
    """The standard alphabet's `+` and `/`, padding and stray characters are refused in every segment."""
    segments = es256.token().split(".")
    segments[segment] = edit(segments[segment])
    assert await refusal(verifier, ".".join(segments)) == "the token is malformed"


@pytest.mark.parametrize("token", [None, b"eyJ.e30.c2ln", 42, ["a", "b"]])
async def test_tokens_that_are_not_strings_are_refused(verifier: TokenVerifier, token: object) -> None:
    """A caller passing a non-string gets an InvalidToken, not a TypeError."""
    assert await refusal(verifier, token) == "the token is malformed"


async def test_deeply_nested_header_is_refused(verifier: TokenVerifier, es256: Signer) -> None:
    """A header nested deeper than 16 levels is refused before any key is used."""
    nested: object = "x"
    for _ in range(20):
        nested = [nested]
    header = {"alg": "ES256", "typ": "at+jwt", "kid": es256.kid, "x": nested}
    assert await refusal(verifier, compact(header, access_claims())) == "the token is nested too deeply"


async def test_pathologically_nested_payload_is_refused(make_verifier: MakeVerifier, es256: Signer) -> None:
    """A payload nested past the parser's recursion limit is refused (RecursionError never escapes)."""
    verifier = make_verifier(max_token_length=64 * 1024)
    depth = 5000
    payload = json.dumps(access_claims())[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    token = jwt.api_jws.encode(payload.encode(), es256.key.private_key, algorithm="ES256",
                               headers={"kid": es256.kid, "typ": "at+jwt"})
    assert await refusal(verifier, token) == "the token is malformed"


@pytest.mark.parametrize(
    ("header", "description"),
    [
        ({"alg": "ES256", "typ": "at+jwt", "crit": ["exp"]}, UNSUPPORTED_EXTENSION),
        ({"alg": "ES256", "typ": "at+jwt", "crit": ["b64"], "b64": False}, UNSUPPORTED_EXTENSION),
        ({"typ": "at+jwt"}, "the token names no algorithm"),
        ({"alg": ["ES256"], "typ": "at+jwt"}, "the token names no algorithm"),
        ({"alg": "RSA-OAEP", "typ": "at+jwt"}, "the token's algorithm is not accepted"),
        ({"alg": "ES256", "typ": "at+jwt", "kid": 7}, "the token's key id is malformed"),
        ({"alg": "ES256", "typ": "at+jwt", "kid": ""}, "the token's key id is malformed"),
        ({"alg": "ES256", "typ": "JWT"}, "the token is not an access token"),
        ({"alg": "ES256"}, "the token is not an access token"),
        ({"alg": "ES256", "typ": "application/jwt"}, "the token is not an access token"),
    ],
)
async def test_header_refusals(verifier: TokenVerifier, es256: Signer, header: dict[str, object],
                               description: str) -> None:
    """Each header rule refuses with its own description: crit, alg, kid, typ."""
    values = {"kid": es256.kid, **header}
    assert await refusal(verifier, compact(values, access_claims())) == description


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
async def test_typ_accepts_both_media_type_forms(verifier: TokenVerifier, es256: Signer, typ: str) -> None:
    """RFC 7515 §4.1.9: `typ` may carry the `application/` prefix and compares case-insensitively."""
    assert (await verifier.verify(es256.sign(access_claims(), typ=typ))).subject == "user-1234"


async def test_kid_is_required_when_the_issuer_has_several_keys(
    make_verifier: MakeVerifier, es256: Signer, rs256: Signer
) -> None:
    """Without a kid, the only key is used; with two keys, a kid-less token is refused."""
    token = es256.sign(access_claims(), kid=None)
    assert (await make_verifier(jwks=jwks_of(es256)).verify(token)).subject == "user-1234"
    assert await refusal(make_verifier(jwks=jwks_of(es256, rs256)), token) == (
        "the token names no key (kid) and the issuer has several"
    )


async def test_signature_tampering_is_refused(verifier: TokenVerifier, es256: Signer, rs256: Signer) -> None:
    """A changed payload, a changed signature, an empty or truncated signature: all refused."""
    for signer in (es256, rs256):
        header, payload, signature = signer.token().split(".")
        other_payload = b64(json.dumps(access_claims(sub="admin")))
        assert await refusal(verifier, f"{header}.{other_payload}.{signature}") == "the token's signature is invalid"
        flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        assert await refusal(verifier, f"{header}.{payload}.{flipped}") == "the token's signature is invalid"
        assert await refusal(verifier, f"{header}.{payload}.{signature[:-4]}") == "the token's signature is invalid"
        assert await refusal(verifier, f"{header}.{payload}.") == "unsigned tokens are not accepted"


async def test_mutations_of_a_valid_token_only_ever_raise_invalid_token(verifier: TokenVerifier, es256: Signer) -> None:
    """400 random edits of a valid token (replace, insert, delete, truncate): InvalidToken or success, never
    another exception."""
    rng = random.Random(20261203)
    token = es256.token()
    alphabet = "AZaz09-_.=+/ {}\"\\\x00é"
    for _ in range(400):
        mutated = list(token)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(mutated))
            action = rng.choice(("replace", "insert", "delete", "truncate"))
            if action == "replace":
                mutated[position] = rng.choice(alphabet)
            elif action == "insert":
                mutated.insert(position, rng.choice(alphabet))
            elif action == "delete" and len(mutated) > 1:
                del mutated[position]
            elif action == "truncate":
                mutated = mutated[: max(position, 1)]
        with contextlib.suppress(InvalidToken):
            await verifier.verify("".join(mutated))


@pytest.mark.parametrize(
    "payload",
    [b'{"sub":"a"}', b'{"sub":"a"}  \n', b' {"sub":"a"}', b'{"sub":"a"} x', b'["sub"]', b'"sub"', b"", b"{",
     b'{"exp":NaN}', b'{"exp":Infinity}', b'{"a":1,"a":2}', b'{"sub":"\xff"}', b'{"sub":"\\ud800"}',
     b"[" * 5000 + b"]" * 5000],
)
def test_parse_payload_answers_as_parse_json_object(payload: bytes) -> None:
    """parse_payload, the fast path for verified payloads, accepts and refuses exactly what parse_json_object does."""
    outcomes = []
    for parse in (parse_json_object, parse_payload):
        try:
            outcomes.append(("ok", parse(payload)))
        except InvalidToken as refused:
            outcomes.append(("refused", refused.description))
    assert outcomes[0] == outcomes[1]
