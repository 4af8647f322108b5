"""The browser SDK's pure checks (js/src/jwt.js, pkce.js), run by Node exactly as the browser runs them.

What the SDK does with these checks in a real callback (no token kept) is proven in Chromium, in
tests/browser/test_spa.py; here each rule is pinned with small inputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.node

DRIVER = Path(__file__).with_name("run_checks.mjs")
VECTORS = Path(__file__).resolve().parents[1] / "protocol" / "vectors" / "rfc7636_appendix_b.json"
ISSUER = "https://id.example.com"
CLIENT = "spa-client"
NOW = 1_800_000_000
LEEWAY = 30  # LEEWAY_SECONDS in js/src/jwt.js


@pytest.fixture(scope="module")
def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        if os.environ.get("PASSPORTOFFICE_REQUIRE_NODE") == "1":
            pytest.fail("PASSPORTOFFICE_REQUIRE_NODE=1 but node is not installed")
        pytest.skip("node is not installed")
    return binary


def run(node: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [node, str(DRIVER), json.dumps(calls)], capture_output=True, text=True, timeout=30, check=True
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def claims(**changes: Any) -> dict[str, Any]:
    payload = {"iss": ISSUER, "sub": "user-1", "aud": CLIENT, "exp": NOW + 600, "iat": NOW, "nonce": "n-1"}
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


def outcomes(node: str, cases: list[dict[str, Any]]) -> list[str]:
    """"ok" or the rejection reason, per case."""
    calls = []
    for case in cases:
        expected = {"issuer": ISSUER, "clientId": CLIENT, "now": NOW}
        args = {"header": {"alg": "ES256", "typ": "JWT"}, "expected": expected} | case
        calls.append({"call": "checkIdToken", "args": args})
    return ["ok" if result["ok"] else result["reason"] for result in run(node, calls)]


def test_a_well_formed_id_token_is_accepted_with_its_nonce(node: str) -> None:
    """Issuer, audience, times and nonce as expected: the decoded claims come back."""
    [result] = run(
        node,
        [
            {
                "call": "checkIdToken",
                "args": {
                    "header": {"alg": "RS256"},
                    "payload": claims(name="Demo Traveler"),
                    "expected": {"issuer": ISSUER, "clientId": CLIENT, "now": NOW, "nonce": "n-1"},
                },
            }
        ],
    )
    assert result == {"ok": True, "value": claims(name="Demo Traveler")}


def test_k17_unsecured_or_symmetric_id_tokens_are_rejected(node: str) -> None:
    """alg none (any case), an empty signature, a missing alg or HMAC: rejected with reason "alg"."""
    assert outcomes(
        node,
        [
            {"header": {"alg": "none"}, "payload": claims()},
            {"header": {"alg": "None"}, "payload": claims()},
            {"header": {"alg": "none"}, "payload": claims(), "signature": ""},
            {"header": {"alg": "ES256"}, "payload": claims(), "signature": ""},
            {"header": {"typ": "JWT"}, "payload": claims()},
            {"header": {"alg": "HS256"}, "payload": claims()},
        ],
    ) == ["alg"] * 6


def test_k19_the_issuer_is_compared_exactly(node: str) -> None:
    """A prefix of the issuer, the issuer plus "/", another case or no iss: rejected with reason "iss"."""
    assert outcomes(
        node,
        [
            {"payload": claims(iss="https")},
            {"payload": claims(iss=ISSUER + "/")},
            {"payload": claims(iss=ISSUER.upper())},
            {"payload": claims(iss=None)},
            {"payload": claims(iss=[ISSUER])},
        ],
    ) == ["iss"] * 5


def test_k22_one_leeway_applies_to_exp_iat_and_nbf(node: str) -> None:
    """nbf/iat a second ahead pass, ten minutes ahead fail; exp just past passes within the leeway only."""
    assert outcomes(
        node,
        [
            {"payload": claims(nbf=NOW + 1)},
            {"payload": claims(iat=NOW + 1)},
            {"payload": claims(exp=NOW - LEEWAY + 1)},
            {"payload": claims(nbf=NOW + 600)},
            {"payload": claims(iat=NOW + 600)},
            {"payload": claims(exp=NOW - LEEWAY)},
            {"payload": claims(exp=None)},
            {"payload": claims(exp="1800000600")},
        ],
    ) == ["ok", "ok", "ok", "nbf", "iat", "exp", "exp", "exp"]


def test_k23_audience_arrays_need_our_client_and_azp(node: str) -> None:
    """An array with our client passes (with azp when several); other audiences or a wrong azp fail."""
    assert outcomes(
        node,
        [
            {"payload": claims(aud=[CLIENT])},
            {"payload": claims(aud=[CLIENT, "https://api.example"], azp=CLIENT)},
            {"payload": claims(aud=["other"])},
            {"payload": claims(aud=[CLIENT, "https://api.example"])},
            {"payload": claims(aud=[CLIENT, "https://api.example"], azp="other")},
            {"payload": claims(aud="other")},
            {"payload": claims(aud=[])},
            {"payload": claims(azp="other")},
        ],
    ) == ["ok", "ok", "aud", "azp", "azp", "aud", "aud", "azp"]


def test_a_wrong_or_missing_nonce_is_rejected(node: str) -> None:
    """The ID token of a login must carry the nonce of that login's authorization request."""
    expected = {"issuer": ISSUER, "clientId": CLIENT, "now": NOW, "nonce": "n-1"}
    assert outcomes(
        node,
        [
            {"payload": claims(nonce="n-2"), "expected": expected},
            {"payload": claims(nonce=None), "expected": expected},
            {"payload": claims(nonce="n-1"), "expected": expected},
        ],
    ) == ["nonce", "nonce", "ok"]


def test_malformed_and_oversized_tokens_are_rejected_before_decoding(node: str) -> None:
    """Two parts, a non-JSON part, a JSON array payload, or 16 KiB+ of token: reason "malformed"."""
    assert outcomes(
        node,
        [
            {"raw": "a.b"},
            {"raw": "e30.bm90IGpzb24.c2ln"},
            {"raw": "eyJhbGciOiJFUzI1NiJ9.W10.c2ln"},
            {"raw": "eyJhbGciOiJFUzI1NiJ9." + "A" * 16_400 + ".c2ln"},
            {"raw": "eyJhbGciOiJFUzI1NiJ9.e30+.c2ln"},
        ],
    ) == ["malformed"] * 5


def test_pkce_s256_matches_rfc7636_appendix_b(node: str) -> None:
    """The challenge the SDK sends for the RFC's verifier is the RFC's challenge."""
    vector = json.loads(VECTORS.read_text())
    [result] = run(node, [{"call": "s256", "args": {"verifier": vector["code_verifier"]}}])
    assert result == {"ok": True, "value": vector["code_challenge"]}


def test_refresh_is_due_within_the_leeway_of_expiry(node: str) -> None:
    """The access token is refreshed from LEEWAY seconds before its expiry on, not earlier."""
    expires_at = NOW * 1000
    results = run(
        node,
        [
            {"call": "isDue", "args": {"expiresAt": expires_at, "now": expires_at - LEEWAY * 1000 - 1}},
            {"call": "isDue", "args": {"expiresAt": expires_at, "now": expires_at - LEEWAY * 1000}},
        ],
    )
    assert [result["value"] for result in results] == [False, True]


def test_k14_login_transactions_are_keyed_by_state_taken_once_and_expire(node: str) -> None:
    """Two logins in flight each find their own verifier, once; an old one is swept; unknown finds nothing."""
    t0 = NOW * 1000
    fifteen_minutes = 15 * 60 * 1000
    [result] = run(
        node,
        [
            {
                "call": "transactions",
                "args": {
                    "steps": [
                        {"save": {"state": "A", "createdAt": t0}},
                        {"save": {"state": "B", "createdAt": t0 + 1000}},
                        {"take": {"state": "B", "now": t0 + 2000}},
                        {"take": {"state": "A", "now": t0 + 3000}},
                        {"take": {"state": "A", "now": t0 + 4000}},
                        {"take": {"state": "never-issued", "now": t0 + 4000}},
                        {"save": {"state": "old", "createdAt": t0}},
                        {"take": {"state": "old", "now": t0 + fifteen_minutes + 1}},
                        {"save": {"state": "stale", "createdAt": t0}},
                        {"save": {"state": "new", "createdAt": t0 + fifteen_minutes + 1}},
                    ]
                },
            }
        ],
    )
    assert result["value"] == {
        "found": ["v-B", "v-A", None, None, None],
        "left": ["passportoffice.login.new"],  # "stale" was swept when "new" was saved
    }
