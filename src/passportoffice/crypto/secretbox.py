"""The instance secret and what is derived from it (HKDF, RFC 5869; AES-GCM, NIST SP 800-38D)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class DecryptionError(Exception):
    """The ciphertext was not made with this key (wrong secret, or tampered)."""


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose: keys for different jobs never coincide."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret)


def encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def decrypt(key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:], associated_data)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError from exc


def load_or_create_secret(path: Path) -> bytes:
    """Read the instance secret, creating it (0600) on first run so the first start needs no set-up."""
    if path.exists():
        secret = path.read_bytes().strip()
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = os.urandom(32).hex().encode()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(secret)
    if len(secret) < 32:
        raise ValueError(f"{path}: the instance secret must be at least 32 characters")
    return secret
