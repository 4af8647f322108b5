"""Tests for passportoffice.protocol.pkce."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from passportoffice.errors import InvalidGrant, InvalidRequest
from passportoffice.protocol import pkce
from passportoffice.protocol import secrets as protocol_secrets
from passportoffice.protocol.pkce import s256_challenge, validate_code_challenge, verify_code_verifier

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "rfc7636_appendix_b.json").read_text(encoding="utf-8")
)
VERIFIER = VECTOR["code_verifier"]
CHALLENGE = VECTOR["code_challenge"]


def test_s256_matches_rfc7636_appendix_b() -> None:
    """S256 of the RFC 7636 Appendix B verifier is the challenge given there."""
    assert VECTOR["source"].startswith("RFC 7636")
    assert s256_challenge(VERIFIER) == CHALLENGE


def test_vector_file_is_self_consistent() -> None:
    """The stored verifier is the base64url of the stored octets, as in the RFC."""
    assert list(base64.urlsafe_b64decode(VERIFIER + "=")) == VECTOR["code_verifier_octets"]
    assert list(base64.urlsafe_b64decode(CHALLENGE + "=")) == VECTOR["sha256_octets"]


def test_validate_code_challenge_returns_a_valid_s256_challenge() -> None:
    """A 43-character S256 challenge with method S256 is accepted and returned."""
    assert validate_code_challenge(CHALLENGE, "S256") == CHALLENGE


@pytest.mark.parametrize("challenge", [None, ""])
def test_validate_code_challenge_requires_a_challenge(challenge: str | None) -> None:
    """A missing or empty code_challenge is invalid_request."""
    with pytest.raises(InvalidRequest) as info:
        validate_code_challenge(challenge, "S256")
    assert info.value.error == "invalid_request"


@pytest.mark.parametrize("method", [None, "", "plain", "s256", "S256 ", "S512"])
def test_validate_code_challenge_requires_exactly_s256(method: str | None) -> None:
    """Any method but the exact string S256, including an omitted one (which means plain), is refused."""
    with pytest.raises(InvalidRequest) as info:
        validate_code_challenge(CHALLENGE, method)
    assert info.value.error == "invalid_request"


@pytest.mark.parametrize(
    "challenge",
    [
        CHALLENGE[:-1],  # 42 characters
        CHALLENGE + "A",  # 44 characters
        CHALLENGE + "=",  # padded
        CHALLENGE[:-1] + "+",  # standard base64, not base64url
        CHALLENGE[:-1] + ".",  # a verifier character, not a base64url one
        CHALLENGE[:-1] + "B",  # non-canonical: no 32-byte digest encodes to this
        VERIFIER + "x" * 20,  # a verifier sent as a plain challenge
    ],
)
def test_validate_code_challenge_requires_43_base64url_characters(challenge: str) -> None:
    """A challenge that is not the base64url encoding of a SHA-256 digest is invalid_request."""
    with pytest.raises(InvalidRequest) as info:
        validate_code_challenge(challenge, "S256")
    assert info.value.error == "invalid_request"


def test_verify_code_verifier_accepts_the_matching_verifier() -> None:
    """The RFC 7636 Appendix B verifier verifies against its challenge."""
    verify_code_verifier(VERIFIER, CHALLENGE)


def test_verify_code_verifier_accepts_128_characters_of_every_allowed_kind() -> None:
    """A 128-character verifier using letters, digits and -._~ verifies."""
    verifier = ("Az09-._~" * 16)[:128]
    verify_code_verifier(verifier, s256_challenge(verifier))


def test_k09_missing_verifier_is_invalid_grant() -> None:
    """K09: a code bound to a challenge, redeemed without code_verifier, is invalid_grant."""
    with pytest.raises(InvalidGrant) as info:
        verify_code_verifier(None, CHALLENGE)
    assert info.value.error == "invalid_grant"


def test_k10_verifier_for_unbound_code_is_invalid_grant() -> None:
    """K10: a code_verifier sent for a code without a bound challenge (PKCE downgrade) is invalid_grant."""
    with pytest.raises(InvalidGrant) as info:
        verify_code_verifier(VERIFIER, None)
    assert info.value.error == "invalid_grant"


def test_unbound_code_without_verifier_is_invalid_grant() -> None:
    """A code with no challenge is refused even when no verifier is sent: every code is PKCE-bound."""
    with pytest.raises(InvalidGrant) as info:
        verify_code_verifier(None, None)
    assert info.value.error == "invalid_grant"


@pytest.mark.parametrize(
    "verifier",
    [
        "",
        "a" * 42,
        "a" * 129,
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + "=",
        "a" * 42 + " ",
        "a" * 42 + "é",
        "a" * 100_000,
    ],
)
def test_verify_code_verifier_refuses_malformed_verifiers(verifier: str) -> None:
    """A verifier that is not 43-128 unreserved characters is invalid_grant, even if it would hash right."""
    with pytest.raises(InvalidGrant) as info:
        verify_code_verifier(verifier, s256_challenge(verifier) if verifier.isascii() else CHALLENGE)
    assert info.value.error == "invalid_grant"


def test_verify_code_verifier_refuses_a_wrong_verifier() -> None:
    """A well-formed verifier whose S256 differs from the challenge is invalid_grant."""
    with pytest.raises(InvalidGrant) as info:
        verify_code_verifier(VERIFIER[:-1] + "A", CHALLENGE)
    assert info.value.error == "invalid_grant"


def test_verify_code_verifier_refuses_the_challenge_as_verifier() -> None:
    """Sending the challenge itself as the verifier (a plain downgrade) is invalid_grant."""
    with pytest.raises(InvalidGrant) as info:
        verify_code_verifier(CHALLENGE, CHALLENGE)
    assert info.value.error == "invalid_grant"


def test_verify_code_verifier_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """K28: the S256 comparison goes through constant_time_equals."""
    calls: list[tuple[str, str]] = []

    def recording(a: str, b: str) -> bool:
        calls.append((a, b))
        return protocol_secrets.constant_time_equals(a, b)

    monkeypatch.setattr(pkce, "constant_time_equals", recording)
    verify_code_verifier(VERIFIER, CHALLENGE)
    assert calls == [(CHALLENGE, CHALLENGE)]
