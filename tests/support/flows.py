"""Test helpers that drive the provider the way a browser and a client would."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import username_key
from passportoffice.settings import Settings
from passportoffice.storage.records import Client, User

PASSWORD = "correct horse battery staple"
SPA_REDIRECT = "https://app.example/callback"


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Authorization:
    code: str
    verifier: str
    redirect_uri: str
    state: str
    nonce: str
    params: dict[str, str] = field(default_factory=dict)


class Flows:
    def __init__(self, provider: Provider, http: httpx.AsyncClient) -> None:
        self.provider = provider
        self.http = http

    async def add_user(self, username: str = "alice", password: str = PASSWORD, **extra: Any) -> User:
        user = User(
            id=new_token(16),
            username=username,
            username_key=username_key(username),
            email=extra.get("email", f"{username}@example.com"),
            email_verified=extra.get("email_verified", True),
            name=extra.get("name", username.title()),
            password_hash=self.provider.passwords.hash(password),
            disabled=False,
            created_at=self.provider.now(),
        )
        await self.provider.storage.add_user(user)
        return user

    async def add_client(self, client_id: str = "spa", *, secret: str | None = None, **extra: Any) -> Client:
        values: dict[str, Any] = {
            "client_id": client_id,
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            "redirect_uris": (SPA_REDIRECT,),
            "grant_types": ("authorization_code", "refresh_token"),
            "scopes": ("openid", "profile", "email", "offline_access", "notes:read", "notes:write"),
            "first_party": True,
            "secret_hash": self.provider.hash(secret) if secret else None,
            "created_at": self.provider.now(),
        }
        values.update(extra)
        client = Client(**values)
        await self.provider.storage.add_client(client)
        return client

    async def login(
        self, response: httpx.Response, username: str = "alice", password: str = PASSWORD
    ) -> httpx.Response:
        """From the 303 to /login: load the form, submit it, return the response to the POST."""
        assert response.status_code == 303, response.text
        form_page = await self.http.get(response.headers["location"])
        assert form_page.status_code == 200, form_page.text
        fields = hidden_fields(form_page.text)
        return await self.http.post("/login", data={**fields, "username": username, "password": password})

    async def authorize(
        self, client_id: str = "spa", scope: str = "openid profile email", username: str = "alice", **extra: str
    ) -> Authorization:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": extra.pop("redirect_uri", SPA_REDIRECT),
            "scope": scope,
            "state": new_token(16),
            "nonce": new_token(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        response = await self.http.get("/authorize", params=params)
        if response.headers.get("location", "").startswith("/login"):
            response = await self.login(response, username=username)
        location = response.headers["location"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert "code" in query, location
        return Authorization(query["code"], verifier, params["redirect_uri"], params["state"], params["nonce"], query)

    async def exchange(self, auth: Authorization, client_id: str = "spa", **extra: Any) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": auth.code,
            "redirect_uri": auth.redirect_uri,
            "code_verifier": auth.verifier,
            "client_id": client_id,
        }
        data.update(extra.pop("data", {}))
        return await self.http.post("/token", data={k: v for k, v in data.items() if v is not None}, **extra)

    async def tokens(self, client_id: str = "spa", scope: str = "openid profile email") -> dict[str, Any]:
        auth = await self.authorize(client_id, scope)
        response = await self.exchange(auth, client_id)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refresh(self, refresh_token: str, client_id: str = "spa", **data: str) -> httpx.Response:
        return await self.http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **data},
        )


def hidden_fields(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


# --- Back-channel helpers (token, introspection, revocation, userinfo, JWKS) ---------------------


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """An `Authorization: Basic` header with both parts form-urlencoded first (RFC 6749 §2.3.1)."""
    from urllib.parse import quote_plus

    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split a `WWW-Authenticate` value into its scheme and auth-params (RFC 7235 §2.1)."""
    import re

    scheme, _, rest = header.partition(" ")
    return scheme, dict(re.findall(r'([A-Za-z_]+)="([^"]*)"', rest))


def settings_with(settings: Settings, **overrides: Any) -> Settings:
    """The same settings with a few values changed, validated again."""
    return Settings(**(settings.model_dump() | overrides))


def jwk_set(document: dict[str, Any]) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(document)


async def verify_with_jwks(http: httpx.AsyncClient, token: str, audience: str | None = None) -> dict[str, Any]:
    """Verify a token the way a relying party would: key by kid from the published JWKS."""
    keys = jwk_set((await http.get("/jwks")).json())
    key = keys[jwt.get_unverified_header(token)["kid"]]
    options = {"verify_aud": audience is not None}
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=[key.algorithm_name], audience=audience, options=options, leeway=10**10
    )
    return claims


def sign_assertion(private_key: Any, kid: str, claims: dict[str, Any], alg: str = "RS256") -> str:
    """A private_key_jwt client assertion (RFC 7523 §3) signed with the client's own key."""
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid})


class BackChannel:
    """Calls a confidential client or resource server makes: introspection and revocation."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def introspect(self, token: str, client_id: str = "rs", secret: str = "rs-secret") -> httpx.Response:
        return await self.http.post("/introspect", data={"token": token}, headers=basic_auth(client_id, secret))

    async def revoke(self, token: str, client_id: str = "spa", **data: str) -> httpx.Response:
        return await self.http.post("/revoke", data={"token": token, "client_id": client_id, **data})


# --- Front-channel helpers (authorization endpoint, login, consent, logout pages) -----------------


def authorization_params(
    client_id: str = "spa", scope: str = "openid profile email", **extra: str | None
) -> dict[str, str]:
    """A valid authorization request for `client_id`; a parameter passed as None is left out."""
    _, code_challenge = pkce_pair()
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": SPA_REDIRECT,
        "scope": scope,
        "state": new_token(16),
        "nonce": new_token(16),
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return {name: value for name, value in params.items() if value is not None}


def error_code(response: httpx.Response) -> str:
    """The text of an error page's `id="error-code"` element (fails the test if there is none)."""
    import html
    import re

    match = re.search(r'id="error-code">([^<]*)<', response.text)
    assert match is not None, response.text
    return html.unescape(match.group(1))


def form_fields(page: str) -> dict[str, str]:
    """Every hidden input of a page (login, consent, form_post), with its value unescaped."""
    import html
    import re

    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {html.unescape(name): html.unescape(value) for name, value in found}


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Every Set-Cookie header: name -> {"value": ..., attribute (lower-cased): value or ""}."""
    cookies: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        parsed = {"value": value}
        for attribute in attributes:
            key, _, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value
        cookies[name] = parsed
    return cookies
