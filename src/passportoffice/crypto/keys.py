"""Signing keys: generation, RFC 7638 thumbprint `kid`s, public JWKs (RFC 7517), encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from passportoffice.crypto.secretbox import decrypt, encrypt

SUPPORTED_ALGORITHMS = ("RS256", "ES256")
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    kid: str
    alg: str
    public_jwk: dict[str, Any]
    private_key: PrivateKey


def generate_key(alg: str) -> GeneratedKey:
    private_key: PrivateKey
    if alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    elif alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kid = thumbprint(jwk)
    jwk.update(kid=kid, alg=alg, use="sig")
    return GeneratedKey(kid=kid, alg=alg, public_jwk=jwk, private_key=private_key)


def thumbprint(jwk: dict[str, Any]) -> str:
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seal_private_key(private_key: PrivateKey, kid: str, encryption_key: bytes) -> bytes:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encrypt(encryption_key, pem, kid.encode())


def open_private_key(sealed: bytes, kid: str, encryption_key: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(decrypt(encryption_key, sealed, kid.encode()), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("stored signing key has an unsupported type")
    return key
