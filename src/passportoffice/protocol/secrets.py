"""Token generation and secret comparison: RFC 6749 §10.10, RFC 6819 §5.1.4.2.2, RFC 7636 §7.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["constant_time_equals", "keyed_hash", "new_token"]

# RFC 6749 §10.10: guessing a token must have probability <= 2**-128.
_MIN_TOKEN_BYTES = 16


def new_token(nbytes: int = 32) -> str:
    """Return a fresh random token: `nbytes` from the OS CSPRNG, URL-safe base64 without padding."""
    if nbytes < _MIN_TOKEN_BYTES:
        raise ValueError(f"tokens need at least {_MIN_TOKEN_BYTES} random bytes")
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


def keyed_hash(key: bytes, value: str) -> str:
    """Return the hex HMAC-SHA256 of `value` under `key`: what we store instead of a secret itself.

    A keyed hash, not a bare SHA-256, so a leaked database alone does not let anyone test guesses.
    """
    if not key:
        raise ValueError("keyed_hash needs a non-empty key")
    # surrogatepass: the function must be total over str; a hash never fails on odd input.
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two secrets in time that depends on neither their contents nor their lengths.

    Both sides are hashed first so compare_digest always sees 32 bytes (K28: `==` leaks the
    position of the first difference, and compare_digest alone still leaks the length).
    """
    digest_a = hashlib.sha256(a.encode("utf-8", "surrogatepass")).digest()
    digest_b = hashlib.sha256(b.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(digest_a, digest_b)
