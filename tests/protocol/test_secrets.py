"""Tests for passportoffice.protocol.secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from passportoffice.protocol import secrets as protocol_secrets
from passportoffice.protocol.secrets import constant_time_equals, keyed_hash, new_token


def test_new_token_default_is_256_bits_urlsafe_without_padding() -> None:
    """A default token is 43 URL-safe base64 characters that decode to 32 random bytes."""
    token = new_token()
    assert len(token) == 43
    assert "=" not in token
    assert len(base64.urlsafe_b64decode(token + "=")) == 32


def test_new_token_honours_nbytes() -> None:
    """The token carries exactly `nbytes` bytes of randomness."""
    assert len(base64.urlsafe_b64decode(new_token(48))) == 48


def test_new_token_is_fresh_each_time() -> None:
    """Two calls never return the same token."""
    assert len({new_token() for _ in range(100)}) == 100


def test_new_token_refuses_fewer_than_128_bits() -> None:
    """Asking for a token shorter than 16 bytes is a programming error."""
    with pytest.raises(ValueError):
        new_token(15)


def test_keyed_hash_is_hmac_sha256_hex() -> None:
    """keyed_hash equals the hex HMAC-SHA256 of the UTF-8 value under the key."""
    expected = hmac.new(b"k" * 32, "secret-é".encode(), hashlib.sha256).hexdigest()
    assert keyed_hash(b"k" * 32, "secret-é") == expected


def test_keyed_hash_depends_on_the_key() -> None:
    """The same value hashed under two keys gives two different digests."""
    assert keyed_hash(b"a" * 32, "v") != keyed_hash(b"b" * 32, "v")


def test_keyed_hash_refuses_an_empty_key() -> None:
    """An empty key would make the hash unkeyed, so it is refused."""
    with pytest.raises(ValueError):
        keyed_hash(b"", "v")


def test_keyed_hash_accepts_any_str() -> None:
    """A string with a lone surrogate still hashes instead of raising."""
    assert len(keyed_hash(b"k", "\ud800")) == 64


def test_constant_time_equals_true_and_false() -> None:
    """Equal strings compare equal; different ones, including different lengths, do not."""
    assert constant_time_equals("abc", "abc")
    assert not constant_time_equals("abc", "abd")
    assert not constant_time_equals("abc", "abcd")
    assert not constant_time_equals("", "a")
    assert constant_time_equals("", "")


def test_k28_constant_time_equals_uses_compare_digest_on_fixed_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """K28: the comparison goes through hmac.compare_digest over two 32-byte digests."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(protocol_secrets.hmac, "compare_digest", recording)
    assert not constant_time_equals("short", "a much longer secret value")
    assert len(calls) == 1
    assert [len(side) for side in calls[0]] == [32, 32]
