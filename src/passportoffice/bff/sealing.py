"""Sealing what the store keeps: session ids hashed, tokens encrypted (AES-GCM, NIST SP 800-38D).

A session's tokens are encrypted under a key derived (HKDF, RFC 5869) from the BFF's secret_key *and*
that session's cookie value, with the session's id hash as associated data. The store holds only the
keyed hash of the cookie, so neither a copy of the store, nor the store and the secret_key together,
decrypts any token: that takes the browser's cookie too. Pending logins (PKCE verifier, nonce) are
sealed under a key from the secret_key alone, bound to their state.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from passportoffice.crypto.secretbox import DecryptionError, decrypt, derive_key, encrypt
from passportoffice.protocol.secrets import keyed_hash

__all__ = ["DecryptionError", "Sealer"]


class Sealer:
    def __init__(self, secret_key: bytes) -> None:
        self._secret = secret_key
        self._hash_key = derive_key(secret_key, "passportoffice/bff/hash")
        self._login_key = derive_key(secret_key, "passportoffice/bff/login")

    def hash(self, value: str) -> str:
        return keyed_hash(self._hash_key, value)

    def seal_session(self, cookie: str, id_hash: str, data: dict[str, Any]) -> bytes:
        return encrypt(self._session_key(cookie), json.dumps(data).encode(), id_hash.encode())

    def open_session(self, cookie: str, id_hash: str, sealed: bytes) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(decrypt(self._session_key(cookie), sealed, id_hash.encode()))
        return value

    def seal_login(self, state_hash: str, data: dict[str, Any]) -> bytes:
        return encrypt(self._login_key, json.dumps(data).encode(), state_hash.encode())

    def open_login(self, state_hash: str, sealed: bytes) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(decrypt(self._login_key, sealed, state_hash.encode()))
        return value

    def _session_key(self, cookie: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=cookie.encode(), info=b"passportoffice/bff/session"
        ).derive(self._secret)
