"""JWK Sets: only public signature keys, each bound to the algorithms its own parameters allow."""

from __future__ import annotations

import json
import logging
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from passportoffice.guard.keys import (
    ASYMMETRIC_ALGORITHMS,
    MAX_KEYS,
    JwksError,
    key_set_from_jwks,
    signature_check,
    usable_key,
)
from tests.guard.support import Signer


def rsa_jwk(bits: int = 2048, **members: Any) -> dict[str, Any]:
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), **members}


def test_public_signature_keys_are_kept(es256: Signer, rs256: Signer) -> None:
    """Our provider's JWKS: an ES256 and an RS256 key, each bound to its own `alg` only."""
    keys = key_set_from_jwks({"keys": [es256.jwk, rs256.jwk]}, ASYMMETRIC_ALGORITHMS)
    assert set(keys.select(es256.kid).algorithms) == {"ES256"}
    assert set(keys.select(rs256.kid).algorithms) == {"RS256"}


def test_rsa_key_without_alg_allows_the_rsa_family_within_the_allow_list() -> None:
    """Without `alg`, an RSA key verifies RS* and PS*, but only those the verifier allows."""
    assert set(usable_key(rsa_jwk(kid="r"), ASYMMETRIC_ALGORITHMS).algorithms) == {  # type: ignore[union-attr]
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"
    }
    assert set(usable_key(rsa_jwk(kid="r"), frozenset({"RS256", "ES256"})).algorithms) == {  # type: ignore[union-attr]
        "RS256"
    }


@pytest.mark.parametrize(
    ("jwk", "why"),
    [
        ({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, "symmetric"),
        ({"kty": "oct", "k": "c2VjcmV0", "kid": "h", "alg": "HS256"}, "symmetric with alg"),
        ("rsa-use-enc", "encryption key"),
        ("rsa-ops-sign-only", "key_ops without verify"),
        ("rsa-1024", "RSA under 2048 bits"),
        ("ec-alg-rs256", "alg of another key type"),
        ("ec-p256-alg-es384", "alg of another curve"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "point not on the curve"),
        ({"kty": "EC", "crv": "secp256k1", "x": "AAAA", "y": "AAAA"}, "curve not allowed"),
        ({"kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB"}, "kid not a string"),
        ({"kid": "x"}, "no kty"),
        (["not", "an", "object"], "not an object"),
    ],
)
def test_unusable_keys_are_skipped(jwk: Any, why: str) -> None:
    """Keys the guard must never verify with are skipped, one reason each."""
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    built = {
        "rsa-use-enc": lambda: rsa_jwk(use="enc"),
        "rsa-ops-sign-only": lambda: rsa_jwk(key_ops=["sign"]),
        "rsa-1024": lambda: rsa_jwk(1024),
        "ec-alg-rs256": lambda: {**ec_jwk, "alg": "RS256"},
        "ec-p256-alg-es384": lambda: {**ec_jwk, "alg": "ES384"},
    }
    candidate = built[jwk]() if isinstance(jwk, str) else jwk
    assert usable_key(candidate, ASYMMETRIC_ALGORITHMS) is None, why


def test_private_key_material_is_refused_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A JWKS member carrying a private key (here RSA `d`) is never used, and the leak is logged."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private))
    assert "d" in jwk
    with caplog.at_level(logging.WARNING, logger="passportoffice.guard"), pytest.raises(JwksError):
        key_set_from_jwks({"keys": [jwk]}, ASYMMETRIC_ALGORITHMS)
    assert caplog.messages == ["JWK Set member with private key material ignored"]


def test_duplicate_kids_are_dropped(es256: Signer, rs256: Signer) -> None:
    """Two keys under one kid are ambiguous: neither is used, the others are."""
    twin = {**Signer("ES256").jwk, "kid": es256.kid}
    keys = key_set_from_jwks({"keys": [es256.jwk, twin, rs256.jwk]}, ASYMMETRIC_ALGORITHMS)
    assert [key.kid for key in keys.keys] == [rs256.kid]


@pytest.mark.parametrize(
    "document",
    [
        {"keys": []},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        {"keys": "none"},
        {"nokeys": []},
        [],
        "text",
        {"keys": [{"kty": "RSA"}] * (MAX_KEYS + 1)},
    ],
)
def test_unusable_documents_are_refused(document: Any) -> None:
    """A document with no usable key, not a JWK Set, or with more than 100 keys is refused whole."""
    with pytest.raises(JwksError):
        key_set_from_jwks(document, ASYMMETRIC_ALGORITHMS)


def test_replaced_key_has_another_fingerprint(es256: Signer) -> None:
    """A kid republished with other key material is not the same key (for K20's cache invalidation)."""
    original = usable_key(es256.jwk, ASYMMETRIC_ALGORITHMS)
    replaced = usable_key({**Signer("ES256").jwk, "kid": es256.kid}, ASYMMETRIC_ALGORITHMS)
    assert original is not None and replaced is not None
    assert original.fingerprint != replaced.fingerprint
    assert usable_key(dict(es256.jwk), ASYMMETRIC_ALGORITHMS).fingerprint == original.fingerprint  # type: ignore[union-attr]


def _signature_variants(signature: bytes, alg: str) -> dict[str, bytes]:
    """The valid signature and malformed ones, including ECDSA's other valid form (s replaced by n - s)."""
    variants = {
        "valid": signature,
        "bit flipped": bytes([signature[0] ^ 1]) + signature[1:],
        "last bit flipped": signature[:-1] + bytes([signature[-1] ^ 1]),
        "truncated": signature[:-1],
        "extended": signature + b"\0",
        "zeros": bytes(len(signature)),
        "empty": b"",
        "doubled": signature * 2,
    }
    if alg.startswith("ES"):
        half = len(signature) // 2
        r, s = int.from_bytes(signature[:half]), int.from_bytes(signature[half:])
        order = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}[alg]
        n = _CURVE_ORDERS[order.name]
        variants |= {
            "r and s swapped": signature[half:] + signature[:half],
            "high s": r.to_bytes(half) + (n - s).to_bytes(half),
            "s plus n": r.to_bytes(half) + (s + n).to_bytes(half) if (s + n).bit_length() <= half * 8 else b"",
            "r zero": bytes(half) + signature[half:],
            "DER": bytes(encode_dss_signature(r, s)),
        }
    return variants


_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
    "secp521r1": int("01" + "F" * 65 + "A51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16),
}
_PRIVATE_KEYS = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ES512": lambda: ec.generate_private_key(ec.SECP521R1()),
}


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"])
def test_signature_checks_agree_with_pyjwt(alg: str) -> None:
    """Each key's prepared check answers exactly as PyJWT's own `verify`, for valid and broken signatures."""
    private = (
        ed25519.Ed25519PrivateKey.generate() if alg == "EdDSA"
        else _PRIVATE_KEYS.get(alg, _PRIVATE_KEYS["RS256"])()
    )
    algorithm = jwt.get_algorithm_by_name(alg)
    message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9"
    check = signature_check(algorithm, private.public_key())
    answers = {}
    for name, signature in _signature_variants(algorithm.sign(message, private), alg).items():
        for signed in (message, message + b"x"):
            expected = algorithm.verify(signed, private.public_key(), signature)
            assert check(signed, signature) is expected, (name, signed)
            answers[name, signed == message] = expected
    assert answers["valid", True] is True
    assert answers["valid", False] is False
    assert answers["bit flipped", True] is False
    if alg.startswith("ES"):
        # ECDSA's second valid form verifies (with both), which also proves the curve orders above right.
        assert answers["high s", True] is True
