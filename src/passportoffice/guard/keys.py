"""Keys from an issuer's JWK Set: RFC 7517 §4-§5, RFC 7518 §3.1 and §6, RFC 8037 §2, RFC 8725 §3.1-§3.2.

Only public signature keys are kept. The algorithms a key may verify come from the key itself (`kty`,
`crv`, `alg`) and the verifier's allow-list, never from a token, so no token can make an RSA key act
as an HMAC secret (K16). Symmetric keys, encryption keys, keys carrying private members and RSA keys
under 2048 bits are skipped; a document left without a usable key is refused as a whole.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import Algorithm, ECAlgorithm, RSAAlgorithm, get_default_algorithms
from jwt.exceptions import PyJWTError

from passportoffice.guard.errors import InvalidToken

log = logging.getLogger("passportoffice.guard")

#: Every algorithm the guard can verify: all asymmetric. `none` and HMAC can never be allowed.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_RSA_BITS = 2048  # RFC 7518 §3.3
MAX_KEYS = 100  # far above any real issuer; bounds the work a hostile document can cause

_ALGORITHMS: dict[str, Algorithm] = get_default_algorithms()
_RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}  # RFC 7518 §3.4: one curve each
_OKP_CURVES = frozenset({"Ed25519", "Ed448"})  # RFC 8037 §3.1
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PUBLIC_MEMBERS = ("kty", "crv", "n", "e", "x", "y")
_PUBLIC_KEY_TYPES = (RSAPublicKey, EllipticCurvePublicKey, Ed25519PublicKey, Ed448PublicKey)


#: Verifies a signature over a message with one key: (signing input, signature) -> valid?
SignatureCheck = Callable[[bytes, bytes], bool]


class JwksError(ValueError):
    """A JWK Set document the guard cannot use (the fetching layer keeps the last good one)."""


class UnknownKey(InvalidToken):
    """The token names a `kid` the issuer's current key set does not have."""

    def __init__(self) -> None:
        super().__init__("the token was signed with an unknown key")


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str | None
    public_key: Any
    #: Each algorithm this key may verify, with the check that does it (see `signature_check`).
    algorithms: Mapping[str, SignatureCheck]
    #: The key's identity (kid, public members, algorithms): a replaced or removed key changes it (K20).
    fingerprint: tuple[str, ...]


class KeySet:
    """The usable keys of one JWKS fetch, selected by `kid`."""

    def __init__(self, keys: Sequence[VerificationKey]) -> None:
        self.keys = tuple(keys)
        self.fingerprints = frozenset(key.fingerprint for key in self.keys)
        self.by_kid: dict[str | None, VerificationKey] = {key.kid: key for key in self.keys if key.kid is not None}
        self._only = self.keys[0] if len(self.keys) == 1 else None

    def select(self, kid: str | None) -> VerificationKey:
        if kid is None:
            # With several keys a kid-less token would make us try each: refuse instead (RFC 7515 §4.1.4).
            if self._only is None:
                raise InvalidToken("the token names no key (kid) and the issuer has several")
            return self._only
        key = self.by_kid.get(kid)
        if key is None:
            raise UnknownKey()
        return key


def key_set_from_jwks(document: object, allowed_algorithms: frozenset[str]) -> KeySet:
    """The usable keys of a parsed JWK Set document (RFC 7517 §5); JwksError if there are none."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("the document is not a JWK Set")
    members: list[object] = document["keys"]
    if len(members) > MAX_KEYS:
        raise JwksError("the JWK Set has too many keys")
    keys = [key for key in (usable_key(member, allowed_algorithms) for member in members) if key is not None]
    counts = Counter(key.kid for key in keys if key.kid is not None)
    ambiguous = {kid for kid, count in counts.items() if count > 1}
    if ambiguous:
        # Two keys under one kid: either could be meant, so neither is trusted.
        log.warning("JWK Set lists %d key id(s) more than once; those keys are ignored", len(ambiguous))
        keys = [key for key in keys if key.kid not in ambiguous]
    if not keys:
        raise JwksError("the JWK Set has no usable signature key")
    return KeySet(keys)


def usable_key(jwk: object, allowed_algorithms: frozenset[str]) -> VerificationKey | None:
    """One JWK as a verification key, or None when it is not a public signature key we may use."""
    if not isinstance(jwk, dict):
        return None
    if _PRIVATE_MEMBERS.intersection(jwk):
        # A JWKS is published: private material in it is a leak at the issuer, never a key to trust.
        log.warning("JWK Set member with private key material ignored")
        return None
    kid, alg, use, key_ops = jwk.get("kid"), jwk.get("alg"), jwk.get("use"), jwk.get("key_ops")
    if (kid is not None and not isinstance(kid, str)) or (alg is not None and not isinstance(alg, str)):
        return None
    if use is not None and use != "sig":  # RFC 7517 §4.2
        return None
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):  # RFC 7517 §4.3
        return None
    names = _algorithms_for(jwk)
    if alg is not None:
        names = (alg,) if alg in names else ()
    names = tuple(name for name in names if name in allowed_algorithms)
    if not names:
        return None
    try:
        public_key = _ALGORITHMS[names[0]].from_jwk(jwk)
        for name in names:
            _ALGORITHMS[name].prepare_key(public_key)  # PyJWT's own checks, e.g. the curve of each ES*
    except (PyJWTError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(public_key, _PUBLIC_KEY_TYPES):
        return None
    if isinstance(public_key, RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        return None
    members = json.dumps({name: jwk.get(name) for name in _PUBLIC_MEMBERS}, sort_keys=True)
    fingerprint = (kid or "", members, *names)
    checks = {name: signature_check(_ALGORITHMS[name], public_key) for name in names}
    return VerificationKey(kid, public_key, checks, fingerprint)


def signature_check(algorithm: Algorithm, public_key: Any) -> SignatureCheck:
    """PyJWT's `algorithm.verify` bound to one key, with the parameters PyJWT builds on every call built once.

    For RS256/384/512 and ES256/384/512 this is the operation of PyJWT's RSAAlgorithm.verify and
    ECAlgorithm.verify with the hash PyJWT names, calling `cryptography` the same way; building the
    padding, hash and ECDSA objects per key instead of per token saves about 5 µs a token (ES256),
    which is 7% of the signature itself. tests/guard/test_keys.py holds the two to the same answers.
    PS* and EdDSA use PyJWT's verify as it is.
    """
    if type(algorithm) is RSAAlgorithm and isinstance(public_key, RSAPublicKey):
        pkcs1, digest = padding.PKCS1v15(), algorithm.hash_alg()

        def verify_pkcs1(message: bytes, signature: bytes) -> bool:
            try:
                public_key.verify(signature, message, pkcs1, digest)
            except InvalidSignature:
                return False
            return True

        return verify_pkcs1
    if type(algorithm) is ECAlgorithm and isinstance(public_key, EllipticCurvePublicKey):
        size = (public_key.curve.key_size + 7) // 8
        ecdsa = ECDSA(algorithm.hash_alg())

        def verify_ecdsa(message: bytes, signature: bytes) -> bool:
            # RFC 7518 §3.4: R then S, each exactly `size` bytes, big-endian; cryptography takes DER.
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:size]), int.from_bytes(signature[size:]))
            try:
                public_key.verify(der, message, ecdsa)
            except InvalidSignature:
                return False
            return True

        return verify_ecdsa

    def verify_with_pyjwt(message: bytes, signature: bytes) -> bool:
        return algorithm.verify(message, public_key, signature)

    return verify_with_pyjwt


def _algorithms_for(jwk: dict[str, Any]) -> tuple[str, ...]:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return _RSA_ALGORITHMS
    if kty == "EC" and isinstance(crv, str) and crv in _EC_ALGORITHMS:
        return (_EC_ALGORITHMS[crv],)
    if kty == "OKP" and crv in _OKP_CURVES:
        return ("EdDSA",)
    return ()  # `oct` (symmetric) and anything unknown
