"""PKCE: RFC 7636 §4.1-4.6; RFC 9700 §2.1.1 (S256 only) and §4.8.2 (downgrade)."""

from __future__ import annotations

import base64
import hashlib

from passportoffice.errors import InvalidGrant, InvalidRequest
from passportoffice.protocol.secrets import constant_time_equals

__all__ = ["s256_challenge", "validate_code_challenge", "verify_code_verifier"]

_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# The last of 43 base64url characters carries 4 bits of a 32-byte digest and 2 zero bits,
# so only these 16 characters can end a real S256 challenge.
_S256_LAST_CHAR = frozenset("AEIMQUYcgkosw048")
_VERIFIER_CHARS = _BASE64URL | frozenset(".~")  # RFC 7636 §4.1: unreserved characters
_CHALLENGE_LENGTH = 43
_VERIFIER_MIN, _VERIFIER_MAX = 43, 128


def s256_challenge(verifier: str) -> str:
    """Return BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def validate_code_challenge(challenge: str | None, method: str | None) -> str:
    """Check the authorization request's PKCE parameters and return the challenge to store.

    Raises InvalidRequest when the challenge is missing, the method is not exactly `S256`
    (RFC 9700 §2.1.1: `plain` exposes the verifier; a missing method means `plain`, RFC 7636 §4.3),
    or the challenge is not the 43-character base64url encoding of a SHA-256 digest.
    """
    if not challenge:
        raise InvalidRequest("code_challenge is required")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if (
        len(challenge) != _CHALLENGE_LENGTH
        or not set(challenge) <= _BASE64URL
        or challenge[-1] not in _S256_LAST_CHAR
    ):
        raise InvalidRequest("code_challenge must be a base64url-encoded SHA-256 digest")
    return challenge


def verify_code_verifier(verifier: str | None, challenge: str | None) -> None:
    """Check the token request's code_verifier against the challenge bound to the code.

    Every failure is InvalidGrant (RFC 7636 §4.6), including a code with no bound challenge.
    """
    if challenge is None:
        # K10 / RFC 9700 §4.8.2: a verifier for an unbound code means someone stripped the
        # challenge from the authorization request; and every code here must be PKCE-bound anyway.
        raise InvalidGrant("the authorization code is not bound to a code_challenge")
    if verifier is None:
        raise InvalidGrant("code_verifier is required")  # K09
    if not _VERIFIER_MIN <= len(verifier) <= _VERIFIER_MAX or not set(verifier) <= _VERIFIER_CHARS:
        raise InvalidGrant("code_verifier must be 43-128 unreserved characters")
    if not constant_time_equals(s256_challenge(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
