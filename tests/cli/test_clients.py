"""`passportoffice clients`: registration rules, the secret shown once, list and remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from passportoffice.provider.context import Provider
from passportoffice.storage.records import Client
from tests.cli.conftest import Invoke, assert_one_line_error, stored

REDIRECT = "https://app.example/cb"


def _client(client_id: str) -> Client | None:
    async def read(provider: Provider) -> Client | None:
        return await provider.storage.get_client(client_id)

    return stored(read)


def _hash(value: str) -> str:
    async def read(provider: Provider) -> str:
        return provider.hash(value)

    return stored(read)


def _jwks_file(tmp_path: Path, *, private: bool) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key if private else key.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk | {"kid": "k1"}]}))
    return path


def test_confidential_client_secret_is_printed_once_and_never_listed(cli: Invoke) -> None:
    """The secret appears in the output of `add` only; `list` and `list --json` never show it or its hash."""
    result = cli("clients", "add", "web", "--redirect-uri", REDIRECT)
    assert result.exit_code == 0, result.output
    secret = result.stdout.split("client_secret: ")[1].split()[0]
    assert result.stdout.count(secret) == 1
    client = _client("web")
    assert client is not None and client.secret_hash is not None
    for listing in (cli("clients", "list"), cli("clients", "list", "--json")):
        assert listing.exit_code == 0
        assert secret not in listing.output
        assert client.secret_hash not in listing.output
    [entry] = json.loads(cli("clients", "list", "--json").stdout)
    assert not {"client_secret", "secret_hash"} & entry.keys()


def test_confidential_client_secret_is_stored_as_a_keyed_hash(cli: Invoke) -> None:
    """secret_hash is the instance's keyed hash of the 256-bit secret, never the secret itself."""
    result = cli("clients", "add", "api", "--redirect-uri", REDIRECT, "--json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    secret = output["client_secret"]
    assert len(secret) == 43  # 32 random bytes, base64url without padding
    client = _client("api")
    assert client is not None
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.secret_hash == _hash(secret)
    assert client.secret_hash != secret


def test_client_defaults(cli: Invoke) -> None:
    """Without options a client gets the code and refresh grants and openid profile email offline_access."""
    output = json.loads(cli("clients", "add", "app", "--redirect-uri", REDIRECT, "--json").stdout)
    assert output["grant_types"] == ["authorization_code", "refresh_token"]
    assert output["scopes"] == ["openid", "profile", "email", "offline_access"]
    assert output["public"] is False


def test_public_client_has_no_secret(cli: Invoke) -> None:
    """--public registers token_endpoint_auth_method none and neither prints nor stores a secret."""
    result = cli("clients", "add", "spa", "--public", "--redirect-uri", REDIRECT, "--json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert "client_secret" not in output
    assert output["token_endpoint_auth_method"] == "none"
    client = _client("spa")
    assert client is not None and client.secret_hash is None and client.is_public


def test_client_options_are_stored(cli: Invoke) -> None:
    """Origins, post-logout URIs, scopes, first party and every --audience (space-joined) are stored."""
    result = cli(
        "clients", "add", "full", "--redirect-uri", REDIRECT, "--redirect-uri", "http://127.0.0.1/cb",
        "--origin", "https://app.example", "--origin", "http://localhost:5173",
        "--post-logout-redirect-uri", "https://app.example/bye", "--scope", "openid", "--scope", "orders:read",
        "--grant", "authorization_code", "--first-party", "--audience", "https://api.example",
        "--audience", "https://billing.example", "--auth-method", "client_secret_post",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _client("full") == Client(
        client_id="full",
        token_endpoint_auth_method="client_secret_post",
        redirect_uris=(REDIRECT, "http://127.0.0.1/cb"),
        grant_types=("authorization_code",),
        scopes=("openid", "orders:read"),
        secret_hash=_client("full").secret_hash,  # type: ignore[union-attr]
        post_logout_redirect_uris=("https://app.example/bye",),
        origins=("https://app.example", "http://localhost:5173"),
        first_party=True,
        audience="https://api.example https://billing.example",
        created_at=_client("full").created_at,  # type: ignore[union-attr]
    )


def test_k06_cli_refuses_fragment_redirect_uri(cli: Invoke) -> None:
    """A redirect URI with a fragment (RFC 6749 §3.1.2) is refused with exit code 2 and one line naming it."""
    message = assert_one_line_error(cli("clients", "add", "frag", "--redirect-uri", "https://app.example/cb#x"), 2)
    assert "'https://app.example/cb#x'" in message
    assert _client("frag") is None


def test_cli_refuses_bad_post_logout_redirect_uri(cli: Invoke) -> None:
    """Post-logout redirect URIs get the same validation as redirect URIs."""
    result = cli("clients", "add", "x", "--redirect-uri", REDIRECT, "--post-logout-redirect-uri", "http://evil.example/")
    assert "'http://evil.example/'" in assert_one_line_error(result, 2)


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example/",
        "https://app.example/path",
        "https://app.example?x=1",
        "https://app.example#x",
        "https://user@app.example",
        "ftp://app.example",
        "app.example",
        "https://App.Example",
        "https://app.example:443",
        "https://app.example:99999",
        "https://",
        "https://app..example",
    ],
)
def test_cli_refuses_bad_origin(cli: Invoke, origin: str) -> None:
    """An origin must be exactly scheme://host[:port] as a browser sends it; anything else is exit code 2."""
    result = cli("clients", "add", "o", "--redirect-uri", REDIRECT, "--origin", origin)
    assert repr(origin) in assert_one_line_error(result, 2)
    assert _client("o") is None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--grant", "password"], 2),
        (["--grant", "implicit"], 2),
        (["--public", "--grant", "client_credentials"], 2),
        (["--grant", "refresh_token"], 2),
        (["--public", "--auth-method", "client_secret_basic"], 2),
        (["--auth-method", "client_secret_jwt"], 2),
        (["--auth-method", "private_key_jwt"], 2),
        (["--scope", 'bad"scope'], 2),
        (["--audience", "not a uri"], 2),
        (["--audience", "https://api.example#frag"], 2),
    ],
)
def test_cli_refuses_invalid_client_options(cli: Invoke, args: list[str], code: int) -> None:
    """Unsupported grants and auth methods, and malformed scopes or audiences, are one-line usage errors."""
    assert_one_line_error(cli("clients", "add", "bad", "--redirect-uri", REDIRECT, *args), code)
    assert _client("bad") is None


def test_authorization_code_client_needs_a_redirect_uri(cli: Invoke) -> None:
    """A client that can use the code flow must register where the code goes."""
    assert_one_line_error(cli("clients", "add", "nowhere"), 2)


def test_client_credentials_client_needs_no_redirect_uri(cli: Invoke) -> None:
    """A machine-to-machine client registers with only the client_credentials grant."""
    result = cli("clients", "add", "m2m", "--grant", "client_credentials", "--audience", "https://api.example",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["grant_types"] == ["client_credentials"]


def test_private_key_jwt_with_public_jwks_is_registered_without_a_secret(cli: Invoke, tmp_path: Path) -> None:
    """private_key_jwt with a public JWKS stores the keys and issues no client secret."""
    jwks = _jwks_file(tmp_path, private=False)
    result = cli("clients", "add", "pkj", "--redirect-uri", REDIRECT, "--auth-method", "private_key_jwt",
                 "--jwks-file", str(jwks), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "client_secret" not in json.loads(result.stdout)
    client = _client("pkj")
    assert client is not None and client.secret_hash is None
    assert client.jwks == json.loads(jwks.read_text())


def test_private_key_jwt_with_private_jwks_is_refused(cli: Invoke, tmp_path: Path) -> None:
    """A JWKS holding a private key ("d") is refused: the provider must never hold a client's signing key."""
    jwks = _jwks_file(tmp_path, private=True)
    result = cli("clients", "add", "pkj", "--redirect-uri", REDIRECT, "--auth-method", "private_key_jwt",
                 "--jwks-file", str(jwks))  # fmt: skip
    assert "(d)" in assert_one_line_error(result, 2)
    assert _client("pkj") is None


@pytest.mark.parametrize("content", ["not json", "[]", '{"keys": []}', '{"keys": [{"kty": "oct", "k": "AAAA"}]}'])
def test_private_key_jwt_with_malformed_jwks_is_refused(cli: Invoke, tmp_path: Path, content: str) -> None:
    """A JWKS file that is not JSON, has no keys, or holds a symmetric key is a usage error."""
    path = tmp_path / "jwks.json"
    path.write_text(content)
    result = cli("clients", "add", "pkj", "--redirect-uri", REDIRECT, "--auth-method", "private_key_jwt",
                 "--jwks-file", str(path))  # fmt: skip
    assert_one_line_error(result, 2)


def test_missing_jwks_file_is_a_one_line_error(cli: Invoke, tmp_path: Path) -> None:
    """A --jwks-file that does not exist is reported in one line."""
    result = cli("clients", "add", "pkj", "--redirect-uri", REDIRECT, "--auth-method", "private_key_jwt",
                 "--jwks-file", str(tmp_path / "missing.json"))  # fmt: skip
    assert "missing.json" in assert_one_line_error(result, 2)


def test_duplicate_client_is_a_one_line_error(cli: Invoke) -> None:
    """Registering a client id twice fails with exit code 1 and keeps the first registration."""
    assert cli("clients", "add", "dup", "--public", "--redirect-uri", REDIRECT).exit_code == 0
    result = cli("clients", "add", "dup", "--redirect-uri", REDIRECT)
    assert assert_one_line_error(result, 1) == "client 'dup' already exists"
    assert _client("dup").is_public  # type: ignore[union-attr]


def test_invalid_client_id_is_refused(cli: Invoke) -> None:
    """A client id with spaces or other characters outside the allowed set is a usage error."""
    assert_one_line_error(cli("clients", "add", "my app", "--public", "--redirect-uri", REDIRECT), 2)


def test_clients_remove(cli: Invoke) -> None:
    """remove deletes the client; removing it again is a one-line error."""
    cli("clients", "add", "gone", "--public", "--redirect-uri", REDIRECT)
    assert cli("clients", "remove", "gone").exit_code == 0
    assert _client("gone") is None
    assert assert_one_line_error(cli("clients", "remove", "gone"), 1) == "no client 'gone'"


def test_refresh_cookie_client_is_stored_and_listed(cli: Invoke) -> None:
    """--refresh-cookie with --public and an --origin is stored, and `list --json` shows it."""
    result = cli(
        "clients", "add", "cookie-spa", "--public", "--refresh-cookie", "--origin", "https://app.example",
        "--redirect-uri", REDIRECT, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["refresh_cookie"] is True
    client = _client("cookie-spa")
    assert client is not None and client.refresh_cookie and client.is_public
    assert client.grant_types == ("authorization_code", "refresh_token")
    listed = {entry["client_id"]: entry for entry in json.loads(cli("clients", "list", "--json").stdout)}
    assert listed["cookie-spa"]["refresh_cookie"] is True


def test_clients_are_not_in_refresh_cookie_mode_by_default(cli: Invoke) -> None:
    """Without the flag the refresh token stays in the JSON body, as before."""
    result = cli("clients", "add", "spa", "--public", "--origin", "https://app.example", "--redirect-uri", REDIRECT)
    assert result.exit_code == 0, result.output
    [entry] = json.loads(cli("clients", "list", "--json").stdout)
    assert entry["refresh_cookie"] is False


@pytest.mark.parametrize(
    ("options", "needs"),
    [
        (["--origin", "https://app.example"], "--public"),
        (["--public"], "--origin"),
        (["--public", "--origin", "https://app.example", "--grant", "authorization_code"], "refresh_token"),
    ],
    ids=["confidential", "no-origin", "no-refresh-grant"],
)
def test_refresh_cookie_client_must_be_public_with_an_origin_and_the_refresh_grant(
    cli: Invoke, options: list[str], needs: str
) -> None:
    """A confidential refresh-cookie client, or one without an origin or refresh_token: one line, nothing stored."""
    result = cli("clients", "add", "bad", "--refresh-cookie", "--redirect-uri", REDIRECT, *options)
    message = assert_one_line_error(result, 2)
    assert "--refresh-cookie" in message and needs in message
    assert _client("bad") is None
