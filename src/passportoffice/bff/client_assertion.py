"""private_key_jwt client authentication: RFC 7523 §2.2 and §3, OpenID Connect Core §9.

A fresh assertion per request: `iss` and `sub` the client_id, `aud` the endpoint it is sent to, a
unique `jti` (the provider refuses a replay, K26), 60 s of life. The algorithm follows the key: RS256
for RSA, ES256 for EC P-256; nothing else is accepted at start-up.
"""

from __future__ import annotations

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from passportoffice.bff.settings import BffSettings
from passportoffice.protocol.secrets import new_token

__all__ = ["JWT_BEARER", "ClientAssertion", "load_key"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LIFETIME = 60


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_key(pem: str) -> tuple[SigningKey, str]:
    """The key and the one algorithm it signs with; ValueError for anything else."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("private_key is not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise ValueError("private_key must be RSA (2048 bits or more) or EC P-256")


class ClientAssertion:
    def __init__(self, settings: BffSettings) -> None:
        self._client_id = settings.client_id
        self._kid = settings.private_key_kid
        self._key: SigningKey | None = None
        self._alg = ""
        if settings.private_key is not None:
            self._key, self._alg = load_key(settings.private_key.get_secret_value())

    def form(self, audience: str, now: int) -> dict[str, str]:
        """The two form parameters that authenticate one request to `audience` (RFC 7521 §4.2)."""
        assert self._key is not None
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": audience,
            "jti": new_token(16),
            "iat": now,
            "exp": now + LIFETIME,
        }
        headers = {"kid": self._kid} if self._kid else None
        assertion = jwt.encode(claims, self._key, algorithm=self._alg, headers=headers)
        return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}
