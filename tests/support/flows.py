"""Test helpers that drive the provider the way a browser and a client would."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.identity import username_key
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
