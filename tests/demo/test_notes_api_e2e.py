"""End to end: `passportoffice demo` (what `make run` starts) as a real process, its notes API called over HTTP
with tokens its provider issued through the real code flow (issue 3, "Proof": end to end with the provider).

A second user and a client for another API are added with the CLI, as an operator would. The one check
that cannot be made against the running process is expiry (access tokens live at least 60 s): it runs the
same API, in this process, with its clock moved past the token's `exp` plus the leeway.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from passportoffice.cli.demo import APP_CLIENT_ID, DEMO_PASSWORD, DEMO_USERNAME, SECRET_FILE, SERVICE_CLIENT_ID
from passportoffice.cli.main import app as cli_app
from passportoffice.demo.notes_api import create_notes_api
from passportoffice.guard import TokenVerifier
from tests.demo import Demo, demo_env, running_demo, running_demo_api
from tests.interop.conftest import browser_login

OTHER_USER, OTHER_PASSWORD = "bob", "bob: another correct horse battery"
OTHER_API = "https://other-api.example"
OTHER_CLIENT = "other-api-app"
SCOPE = "openid profile notes:read notes:write"
INVALID = 'Bearer error="invalid_token", error_description="{}"'


@dataclass(frozen=True)
class Signed:
    access_token: str
    id_token: str
    sub: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("notes-e2e")
    with running_demo(root / "data", root / "logs") as running:
        env: dict[str, str | None] = {**demo_env(), "PASSPORTOFFICE_DATA_DIR": str(running.data_dir)}
        for args, stdin in [
            (("users", "add", OTHER_USER, "--password-stdin"), OTHER_PASSWORD + "\n"),
            (("clients", "add", OTHER_CLIENT, "--public", "--first-party", "--redirect-uri", f"{running.app}/callback",
              "--grant", "authorization_code", "--scope", "openid profile notes:read", "--scope", "notes:write",
              "--audience", OTHER_API), None),
        ]:
            result = CliRunner().invoke(cli_app, list(args), input=stdin, env=env)
            assert result.exit_code == 0, result.output
        yield running


def sign_in(demo: Demo, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD,
            client_id: str = APP_CLIENT_ID) -> Signed:
    """The code flow with PKCE, as the demo's clients do it: browser sign-in, then the public client's redemption."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{demo.app}/callback"
    url = str(httpx.URL(f"{demo.provider}/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPE,
        "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256",
    }))
    code = httpx.URL(browser_login(url, redirect_uri, username, password)).params["code"]
    response = httpx.post(f"{demo.provider}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
        "code_verifier": verifier,
    })
    assert response.status_code == 200, response.text
    tokens = response.json()
    return Signed(tokens["access_token"], tokens["id_token"], claims(tokens["access_token"])["sub"])


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def with_claims(token: str, **changes: Any) -> str:
    """The token with its payload changed and the issuer's signature kept."""
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims(token) | changes).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.fixture(scope="module")
def alice(demo: Demo) -> Signed:
    return sign_in(demo)


@pytest.fixture(scope="module")
def bob(demo: Demo) -> Signed:
    return sign_in(demo, OTHER_USER, OTHER_PASSWORD)


def test_the_demo_users_token_is_for_the_notes_api(demo: Demo, alice: Signed) -> None:
    """`make run` seeds the app client so that its access tokens name the API and carry the notes scopes."""
    issued = claims(alice.access_token)
    assert (issued["aud"], issued["client_id"]) == (demo.api, APP_CLIENT_ID)
    assert {"notes:read", "notes:write"} <= set(issued["scope"].split())
    assert f"Notes API:          {demo.api}/notes" in demo.stdout.read_text()


def test_a_provider_token_is_accepted_and_notes_stay_with_their_owner(demo: Demo, alice: Signed, bob: Signed) -> None:
    """A token from the provider is accepted; user B neither sees nor deletes user A's notes, even with the id."""
    assert alice.sub != bob.sub
    created = httpx.post(f"{demo.api}/notes", json={"text": "alice only"}, headers=alice.bearer)
    assert created.status_code == 201, created.text
    note = created.json()
    assert httpx.get(f"{demo.api}/notes", headers=bob.bearer).json() == {"notes": []}
    stolen = httpx.delete(f"{demo.api}/notes/{note['id']}", headers=bob.bearer)
    assert (stolen.status_code, stolen.json()["error"]) == (404, "not_found")
    assert httpx.get(f"{demo.api}/notes", headers=alice.bearer).json() == {"notes": [note]}
    assert httpx.delete(f"{demo.api}/notes/{note['id']}", headers=alice.bearer).status_code == 204
    assert httpx.get(f"{demo.api}/notes", headers=alice.bearer).json() == {"notes": []}


def test_k23_k24_wrong_tokens_are_refused_with_rfc_6750_answers(demo: Demo, alice: Signed, bob: Signed) -> None:
    """The same user's ID token (K24), a token for another API (K23), and tampered tokens (one claiming to be
    user B) get 401 invalid_token from the running API."""
    httpx.post(f"{demo.api}/notes", json={"text": "bob's"}, headers=bob.bearer).raise_for_status()
    other_api = sign_in(demo, client_id=OTHER_CLIENT)
    assert claims(other_api.access_token)["aud"] == OTHER_API
    for token, description in [
        (alice.id_token, "the token is not an access token"),
        (other_api.access_token, "the token is not meant for this API"),
        (with_claims(alice.access_token, sub=bob.sub), "the token's signature is invalid"),
        (with_claims(alice.access_token, aud=demo.api, scope="notes:read notes:write admin"),
         "the token's signature is invalid"),
    ]:
        response = httpx.get(f"{demo.api}/notes", headers={"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.headers["www-authenticate"]) == (401, INVALID.format(description))
        assert "bob's" not in response.text


@pytest.mark.anyio
async def test_an_expired_provider_token_is_refused(demo: Demo, alice: Signed) -> None:
    """The provider's token, once past `exp` and the leeway: 401 invalid_token "the token has expired"."""
    expires_at = claims(alice.access_token)["exp"]
    later = TokenVerifier(demo.provider, demo.api, clock=lambda: expires_at + 60 + 1)
    api = create_notes_api(later, demo.app)
    transport = httpx.ASGITransport(app=api)
    async with api.router.lifespan_context(api), httpx.AsyncClient(transport=transport, base_url=demo.api) as client:
        response = await client.get("/notes", headers=alice.bearer)
    assert (response.status_code, response.headers["www-authenticate"]) == (
        401, INVALID.format("the token has expired")
    )


def test_the_service_token_reads_but_cannot_write(demo: Demo) -> None:
    """The demo service client has notes:read only: GET 200, POST 403 insufficient_scope naming notes:write."""
    secret = (demo.data_dir / SECRET_FILE).read_text().strip()
    issued = httpx.post(f"{demo.provider}/token", data={"grant_type": "client_credentials"},
                        auth=(SERVICE_CLIENT_ID, secret))
    assert issued.status_code == 200, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert httpx.get(f"{demo.api}/notes", headers=headers).json() == {"notes": []}
    refused = httpx.post(f"{demo.api}/notes", json={"text": "x"}, headers=headers)
    assert (refused.status_code, refused.headers["www-authenticate"]) == (
        403, 'Bearer error="insufficient_scope", error_description="the access token lacks a required scope", '
        'scope="notes:write"'
    )


def test_cors_allows_the_demo_apps_origin_only(demo: Demo, alice: Signed) -> None:
    """The running API answers preflights and responses for the demo app's origin, and for no other."""
    preflight = {"Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization"}
    allowed = httpx.options(f"{demo.api}/notes/x", headers={"Origin": demo.app, **preflight})
    assert (allowed.status_code, allowed.headers["access-control-allow-origin"]) == (200, demo.app)
    for origin in ("https://evil.example", demo.provider, demo.app + ".evil.example"):
        refused = httpx.options(f"{demo.api}/notes/x", headers={"Origin": origin, **preflight})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        answered = httpx.get(f"{demo.api}/notes", headers={"Origin": origin, **alice.bearer})
        assert "access-control-allow-origin" not in answered.headers
    answered = httpx.get(f"{demo.api}/notes", headers={"Origin": demo.app, **alice.bearer})
    assert answered.headers["access-control-allow-origin"] == demo.app


def test_demo_api_command_serves_the_api_on_its_own(demo: Demo, alice: Signed, tmp_path: Path) -> None:
    """`passportoffice demo-api --issuer --audience --port --origin` as its own process accepts the provider's
    tokens for its audience, allows only its --origin, and stops cleanly on Ctrl-C."""
    origin = "http://localhost:8123"
    with running_demo_api(demo.provider, demo.api, origin, tmp_path) as url:
        answered = httpx.get(f"{url}/notes", headers={"Origin": origin, **alice.bearer})
        assert (answered.status_code, answered.headers["access-control-allow-origin"]) == (200, origin)
        other = httpx.get(f"{url}/notes", headers={"Origin": demo.app, **alice.bearer})
        assert "access-control-allow-origin" not in other.headers


def readme_block(language: str, after: str, nth: int = 0) -> str:
    """The nth ```language block after the heading `after` in README.md."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = text[text.index(after):].split(f"```{language}\n")[1:]
    return blocks[nth].split("```")[0]


def test_readme_curl_commands_work(demo: Demo) -> None:
    """The README's curl lines for the notes API, run against this demo (its ports and data dir swapped in)."""
    script = (
        readme_block("sh", "### The demo notes API", nth=1)
        .replace("http://localhost:9000", demo.provider).replace("http://localhost:9001", demo.api)
        .replace(".passportoffice/", f"{demo.data_dir}/")
    )
    lines = script.replace("\\\n", "").strip().splitlines()
    assert len(lines) == 3
    result = subprocess.run(["bash", "-c", lines[0] + "\n" + lines[1]], capture_output=True, text=True, timeout=30)
    assert (result.returncode, json.loads(result.stdout)) == (0, {"notes": []}), result.stderr
    result = subprocess.run(["bash", "-c", lines[0] + "\n" + lines[2]], capture_output=True, text=True, timeout=30)
    assert result.stdout.startswith("HTTP/1.1 403 Forbidden"), result.stdout
    assert 'error="insufficient_scope"' in result.stdout and 'scope="notes:write"' in result.stdout


@pytest.mark.anyio
async def test_readme_guard_example_works(demo: Demo, alice: Signed) -> None:
    """The README's FastAPI example, with the demo's issuer and API: the user's token in, the `sub` out."""
    code = readme_block("python", "## Protecting an API").replace("http://localhost:9000", demo.provider).replace(
        "http://localhost:9001", demo.api
    )
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    transport = httpx.ASGITransport(app=namespace["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        answered = await client.get("/notes", headers=alice.bearer)
        refused = await client.get("/notes")
    assert (answered.status_code, answered.json()) == (200, {"sub": alice.sub})
    assert (refused.status_code, refused.headers["www-authenticate"]) == (401, "Bearer")
