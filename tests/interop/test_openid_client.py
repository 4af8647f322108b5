"""panva's openid-client (npm, v6) as relying party: discovery, code + PKCE, ID token, userinfo, refresh, revocation.

openid-client runs with its defaults (only http to localhost allowed) plus its ID token signature check
(there is no TLS here to rely on instead), so every check it makes on our responses (issuer, RFC 9207 `iss`,
state, nonce, ID token signature and claims, auth_time against max_age, at_hash, userinfo `sub`) is one a
strict third-party client makes in production. The script, openid_client_flow.mjs, says exactly what it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tests.interop.conftest import (
    EMAIL,
    NAME,
    SCOPE,
    SERVICE_SCOPE,
    USERNAME,
    InteropClient,
    InteropServer,
    browser_login,
    browser_visit,
)

pytestmark = pytest.mark.node

HERE = Path(__file__).parent
SCRIPT = HERE / "openid_client_flow.mjs"


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with openid-client installed by `npm ci` in tests/interop."""
    binary = shutil.which("node")
    installed = (HERE / "node_modules" / "openid-client" / "package.json").is_file()
    if binary is None or not installed:
        reason = "node is not installed" if binary is None else "run `npm ci` in tests/interop"
        if os.environ.get("PASSPORTOFFICE_REQUIRE_NODE") == "1":
            pytest.fail(f"PASSPORTOFFICE_REQUIRE_NODE=1 but {reason}")
        pytest.skip(reason)
    return binary


def run_relying_party(
    node: str,
    server: InteropServer,
    rp: InteropClient,
    *,
    tamper: dict[str, str | None] | None = None,
    client_credentials: bool = False,
    authorization_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run openid_client_flow.mjs, playing the browser in between; `tamper` rewrites callback parameters.

    With `prompt=none` among the authorization parameters the browser has no session and does not sign in.
    """
    authorization_params = authorization_params or {}
    silent = authorization_params.get("prompt") == "none"
    options = {
        "issuer": server.issuer,
        "clientId": rp.client_id,
        "clientSecret": rp.secret,
        "authMethod": rp.auth_method,
        "redirectUri": server.redirect_uri,
        "scope": SERVICE_SCOPE if client_credentials else SCOPE,
        "flow": "client_credentials" if client_credentials else "code",
        "stopAfterCallback": tamper is not None or silent,
        "authorizationParams": authorization_params,
    }
    process = subprocess.Popen(
        [node, str(SCRIPT), json.dumps(options)],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if client_credentials:
            stdout, stderr = process.communicate(timeout=60)
            return _summary(stdout, stderr, process.returncode, server)
        assert process.stdout is not None
        first = json.loads(process.stdout.readline() or "{}")
        if "authorization_url" not in first:
            _, stderr = process.communicate(timeout=30)
            pytest.fail(f"openid-client stopped before the authorization request: {first}\n{stderr}")
        visit = browser_visit if silent else browser_login
        callback = visit(first["authorization_url"], server.redirect_uri)
        if tamper is not None:
            callback = _with_parameters(callback, tamper)
        stdout, stderr = process.communicate(callback + "\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return _summary(stdout, stderr, process.returncode, server)


def _summary(stdout: str, stderr: str, returncode: int, server: InteropServer) -> dict[str, Any]:
    lines = stdout.strip().splitlines()
    assert lines, f"openid-client printed nothing (exit {returncode}):\n{stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["outcome"] == "ok", f"{result}\n{stderr}\n--- server log ---\n{server.logs()}"
    assert returncode == 0, stderr
    summary: dict[str, Any] = result["summary"]
    return summary


def _with_parameters(url: str, changes: dict[str, str | None]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def _client(server: InteropServer, which: str) -> InteropClient:
    client: InteropClient = getattr(server, which)
    return client


@pytest.mark.parametrize("which", ["public", "basic", "post"])
def test_openid_client_completes_code_flow_userinfo_refresh_and_revocation(
    node: str, interop_server: InteropServer, which: str
) -> None:
    """A public client and confidential ones (client_secret_basic, _post) pass openid-client's every check."""
    rp = _client(interop_server, which)
    summary = run_relying_party(node, interop_server, rp)

    assert summary["issuer"] == interop_server.issuer
    grant = summary["code_grant"]
    assert grant["ok"] is True, grant
    tokens = grant["value"]
    assert tokens["token_type"].lower() == "bearer"
    assert set(tokens["scope"].split()) == set(SCOPE.split())
    assert 0 < tokens["expires_in"] <= 600
    claims = tokens["id_token_claims"]
    assert claims["iss"] == interop_server.issuer
    assert claims["aud"] == rp.client_id
    assert claims["sub"] == interop_server.sub
    assert claims["nonce"] == grant["nonce"]
    assert claims["preferred_username"] == USERNAME
    assert claims["name"] == NAME
    assert claims["email"] == EMAIL
    assert claims["email_verified"] is True
    assert {"exp", "iat", "auth_time", "at_hash", "sid"} <= set(claims)

    userinfo = summary["userinfo"]
    assert userinfo["ok"] is True, userinfo
    assert userinfo["value"]["sub"] == interop_server.sub
    assert userinfo["value"]["email"] == EMAIL
    assert userinfo["value"]["name"] == NAME

    first, second = summary["refreshes"]
    refresh_tokens = [tokens["refresh_token"], first["refresh_token"], second["refresh_token"]]
    access_tokens = [tokens["access_token"], first["access_token"], second["access_token"]]
    assert all(refresh_tokens) and len(set(refresh_tokens)) == 3, "every refresh rotates the refresh token"
    assert len(set(access_tokens)) == 3
    for refreshed in (first, second):
        # openid-client validated any refreshed ID token too; OIDC Core §12.2 wants the same iss, sub, aud.
        if refreshed["id_token_claims"] is not None:
            assert refreshed["id_token_claims"]["sub"] == interop_server.sub
            assert refreshed["id_token_claims"]["aud"] == rp.client_id
            assert refreshed["id_token_claims"]["auth_time"] == claims["auth_time"]
    assert summary["userinfo_after_refresh"]["ok"] is True, summary["userinfo_after_refresh"]

    if rp.secret is not None:  # introspection needs client authentication (RFC 7662 §2.1)
        introspection = summary["introspection"]
        assert introspection["ok"] is True, introspection
        assert introspection["value"]["active"] is True
        assert introspection["value"]["sub"] == interop_server.sub
        assert introspection["value"]["client_id"] == rp.client_id

    assert summary["revocation"] == {"ok": True}
    refused = summary["refresh_after_revocation"]
    assert refused["ok"] is False
    assert refused["error"]["name"] == "ResponseBodyError"
    assert refused["error"]["status"] == 400
    assert refused["error"]["error"] == "invalid_grant"
    if rp.secret is not None:
        # RFC 7662 §2.2: nothing but `active` for a token that is not live.
        assert summary["introspection_after_revocation"] == {"ok": True, "value": {"active": False}}


@pytest.mark.parametrize(
    ("tamper", "expected_cause"),
    [
        ({"iss": "http://evil.example"}, 'unexpected "iss" (issuer) response parameter value'),
        ({"iss": None}, 'response parameter "iss" (issuer) missing'),
    ],
    ids=["foreign-iss", "missing-iss"],
)
def test_openid_client_refuses_a_callback_whose_iss_is_not_our_issuer(
    node: str, interop_server: InteropServer, tamper: dict[str, str | None], expected_cause: str
) -> None:
    """A mix-up attacker's callback (K15, RFC 9207 §2.4) is refused by the client before it redeems the code.

    The metadata advertises `authorization_response_iss_parameter_supported`, so a missing `iss` is refused too.
    """
    summary = run_relying_party(node, interop_server, interop_server.public, tamper=tamper)
    grant = summary["code_grant"]
    assert grant["ok"] is False
    assert grant["error"]["name"] == "ClientError"
    assert grant["error"]["code"] == "OAUTH_INVALID_RESPONSE"
    assert grant["error"]["cause"] == expected_cause


def test_openid_client_reads_an_error_response_with_iss(node: str, interop_server: InteropServer) -> None:
    """prompt=none without a session: the redirected `login_required` passes openid-client's `iss` check first."""
    summary = run_relying_party(
        node, interop_server, interop_server.public, authorization_params={"prompt": "none"}
    )
    grant = summary["code_grant"]
    assert grant["ok"] is False
    assert grant["error"]["name"] == "AuthorizationResponseError"
    assert grant["error"]["error"] == "login_required"


@pytest.mark.parametrize("which", ["basic", "post"])
def test_openid_client_client_credentials_grant(node: str, interop_server: InteropServer, which: str) -> None:
    """openid-client's client credentials grant works with either secret method and gets no refresh token."""
    rp = _client(interop_server, which)
    grant = run_relying_party(node, interop_server, rp, client_credentials=True)["client_credentials"]
    assert grant["ok"] is True, grant
    assert grant["value"]["scope"] == SERVICE_SCOPE
    assert grant["value"]["token_type"].lower() == "bearer"
    assert grant["value"]["refresh_token"] is None  # RFC 6749 §4.4.3


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        # RFC 6749 §5.2 and RFC 9110 §15.5.2: every 401 carries a Basic challenge, whichever way the
        # client sent its secret; openid-client surfaces the challenge, the body still says invalid_client.
        ("basic", {"name": "WWWAuthenticateChallengeError", "status": 401, "challenges": ["basic"]}),
        ("post", {"name": "WWWAuthenticateChallengeError", "status": 401, "challenges": ["basic"]}),
    ],
)
def test_openid_client_with_a_wrong_secret_gets_invalid_client(
    node: str, interop_server: InteropServer, which: str, expected: dict[str, Any]
) -> None:
    """A wrong secret is `invalid_client` with status 401, whichever way openid-client sends it."""
    rp = _client(interop_server, which)
    wrong = replace(rp, secret="not-" + (rp.secret or ""))
    grant = run_relying_party(node, interop_server, wrong, client_credentials=True)["client_credentials"]
    assert grant["ok"] is False
    assert grant["error"]["error"] == "invalid_client"
    assert {name: grant["error"].get(name) for name in expected} == expected
