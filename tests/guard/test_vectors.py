"""The RFC 7515 and RFC 7520 signature examples verify with the guard's signature step, and only as published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passportoffice.guard.errors import InvalidToken
from passportoffice.guard.jws import HeaderRules, verify_compact
from passportoffice.guard.keys import ASYMMETRIC_ALGORITHMS, key_set_from_jwks

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "rfc7515_rfc7520_signatures.json").read_text(encoding="utf-8")
)
VECTORS = [pytest.param(vector, id=vector["name"]) for vector in DOCUMENT["vectors"]]
# The examples are untyped JWSs, not access tokens: the typ rule is off on purpose here.
UNTYPED = HeaderRules(ASYMMETRIC_ALGORITHMS, token_type=None)


def test_vector_file_names_its_source() -> None:
    """The data file says where the vectors come from."""
    assert DOCUMENT["source"].startswith("RFC 7515")
    assert {vector["alg"] for vector in DOCUMENT["vectors"]} == {"RS256", "ES256", "ES512"}


@pytest.mark.parametrize("vector", VECTORS)
def test_published_signature_verifies(vector: dict[str, Any]) -> None:
    """Each published JWS verifies with its published public key and yields the published payload."""
    keys = key_set_from_jwks({"keys": [vector["jwk"]]}, ASYMMETRIC_ALGORITHMS)
    payload, key = verify_compact(vector["jws"], keys, UNTYPED, 8192)
    assert payload == vector["payload"].encode("utf-8")
    assert vector["alg"] in key.algorithms


@pytest.mark.parametrize("vector", VECTORS)
def test_changed_payload_fails(vector: dict[str, Any]) -> None:
    """The same signature over a payload changed by one character is refused."""
    keys = key_set_from_jwks({"keys": [vector["jwk"]]}, ASYMMETRIC_ALGORITHMS)
    header, payload, signature = vector["jws"].split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(InvalidToken) as refused:
        verify_compact(f"{header}.{tampered}.{signature}", keys, UNTYPED, 8192)
    assert refused.value.description == "the token's signature is invalid"


@pytest.mark.parametrize("vector", VECTORS)
def test_vector_outside_the_allow_list_is_refused(vector: dict[str, Any]) -> None:
    """A valid signature is still refused when its algorithm is not allowed (the key is then unusable too)."""
    others = ASYMMETRIC_ALGORITHMS - {vector["alg"]}
    rules = HeaderRules(others, token_type=None)
    ed25519 = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}  # RFC 8037 A.2
    keys = key_set_from_jwks({"keys": [vector["jwk"], ed25519]}, others)
    with pytest.raises(InvalidToken) as refused:
        verify_compact(vector["jws"], keys, rules, 8192)
    assert refused.value.description == "the token's algorithm is not accepted"
