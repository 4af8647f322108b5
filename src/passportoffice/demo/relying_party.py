"""A tiny relying party to try the provider with: the authorization code flow with PKCE, done server-side.

Documentation by example: each step a real client takes, in order. `/login` starts the flow with PKCE
S256, `state` and `nonce` (RFC 7636 §4, OIDC Core §3.1.2.1); `/callback` checks `state` and `iss`
(RFC 9207 §2.4) before the code goes anywhere, redeems it as a public client, and shows the three
tokens and the userinfo answer. Started logins live in this process's memory: fine for a demo.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
from jinja2 import DictLoader, Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from passportoffice.web.pages import html_headers

__all__ = ["create_relying_party", "decode_unverified"]

SCOPE = "openid profile email offline_access"
_LOGIN_TTL = 600  # seconds a started sign-in may take
_MAX_PENDING = 1000  # a flood of /login requests cannot grow memory without bound
# Where each token belongs in a real app.
_TOKENS = (
    ("id_token", "ID token", "Lives in memory. Tells the UI who signed in; never sent to APIs."),
    ("access_token", "Access token", "Lives in memory. Sent to APIs as Authorization: Bearer; expires in minutes."),
    (
        "refresh_token",
        "Refresh token",
        "Lives in an HttpOnly Secure SameSite cookie, or only in a backend (BFF): never where scripts can read it.",
    ),
)

_TEMPLATES = {
    "base": """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>passportoffice demo app</title>
<style nonce="{{ nonce }}">
 :root { font-family: system-ui, sans-serif; color: #111827; background: #f3f4f6; }
 body { margin: 0; padding: 2rem 1rem; } main { max-width: 56rem; margin: 0 auto; }
 section { background: #fff; border-radius: 12px; padding: 1.2rem 1.5rem; margin: 0 0 1rem;
           box-shadow: 0 4px 16px rgba(0,0,0,.06); } section > :last-child { margin-bottom: 0; }
 h1 { font-size: 1.4rem; margin: 0 0 .6rem; } h2 { font-size: 1.1rem; margin: 0 0 .3rem; }
 h3 { font-size: .75rem; text-transform: uppercase; color: #6b7280; margin: .6rem 0 0; }
 .jwt { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 2fr); gap: .8rem; }
 @media (max-width: 40rem) { .jwt { grid-template-columns: minmax(0, 1fr); } }
 pre { background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 8px; padding: .7rem; margin: .4rem 0;
       font-size: .8rem; white-space: pre-wrap; word-break: break-all; }
 .muted { color: #6b7280; font-size: .9rem; } .where { font-size: .9rem; margin: 0 0 .4rem; }
 .note { background: #fef3c7; border-radius: 8px; padding: .6rem .8rem; font-size: .9rem; }
 .error { color: #b91c1c; } .brand { font-size: .8rem; letter-spacing: .08em; text-transform: uppercase;
 color: #6b7280; margin-bottom: .6rem; } summary { cursor: pointer; font-size: .85rem; color: #374151; }
 a.button { display: inline-block; padding: .6rem 1.1rem; border-radius: 8px; background: #1d4ed8;
            color: #fff; text-decoration: none; } a.secondary { background: #4b5563; }
</style></head><body><main><div class="brand">passportoffice · demo app</div>{% block body %}{% endblock %}
</main></body></html>""",
    "home": """{% extends "base" %}{% block body %}<section><h1>A demo application</h1>
<p>Signing in happens at the provider, <code>{{ issuer }}</code>: this app never sees your password.
It gets back a code, and redeems it for three tokens.</p>
<p><a class="button" id="sign-in" href="/login">Sign in with passportoffice</a></p></section>{% endblock %}""",
    "error": """{% extends "base" %}{% block body %}<section><h1 class="error" id="error">{{ title }}</h1>
<p>{{ detail }}</p><p><a href="/">Start again</a></p></section>{% endblock %}""",
    "tokens": """{% extends "base" %}{% block body %}<section><h1 id="signed-in">Signed in as {{ user }}</h1>
<p class="note">Tokens below are decoded for display, not verified. An API verifies an access token's
signature against the provider's JWKS; decoding a token proves nothing.</p>
<p><a class="button secondary" id="sign-out" href="{{ logout_url }}">Sign out</a></p></section>
{% for token in tokens %}<section id="{{ token.id }}"><h2>{{ token.name }}</h2>
<p class="where">{{ token.where }}</p>{% if token.header %}<div class="jwt"><div><h3>header</h3>
<pre>{{ token.header }}</pre></div><div><h3>payload</h3><pre>{{ token.payload }}</pre></div></div>
{% else %}<p class="muted">Opaque: not a JWT, nothing to decode. Only the provider can look it up.</p>{% endif %}
<details><summary>raw token</summary><pre>{{ token.raw }}</pre></details></section>{% endfor %}
<section id="userinfo"><h2>Call /userinfo</h2><p class="where">GET {{ userinfo_url }} with
<code>Authorization: Bearer</code> and the access token: HTTP {{ userinfo_status }}</p>
<pre>{{ userinfo }}</pre></section>{% endblock %}""",
}
_pages = Environment(loader=DictLoader(_TEMPLATES), autoescape=True)


@dataclass(frozen=True, slots=True)
class _Login:
    code_verifier: str
    nonce: str
    started: float


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A JWT's header and payload WITHOUT checking its signature: for display, never for trust."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except ValueError:
        return None
    return (header, payload) if isinstance(header, dict) and isinstance(payload, dict) else None


def create_relying_party(issuer: str, client_id: str, redirect_uri: str) -> Starlette:
    home = urljoin(redirect_uri, "/")
    logins: dict[str, _Login] = {}
    metadata: dict[str, Any] = {}
    http = httpx.AsyncClient(timeout=10)

    async def discover() -> dict[str, Any]:
        if not metadata:
            found = (await http.get(issuer + "/.well-known/openid-configuration")).raise_for_status().json()
            if found.get("issuer") != issuer:  # OpenID Connect Discovery §4.3
                raise httpx.HTTPError(f"the provider's metadata names another issuer: {found.get('issuer')!r}")
            metadata.update(found)
        return metadata

    async def index(request: Request) -> Response:
        return _page("home", issuer=issuer)

    async def login(request: Request) -> Response:
        endpoint = (await discover())["authorization_endpoint"]
        now = time.monotonic()
        for expired in [state for state, pending in logins.items() if now - pending.started > _LOGIN_TTL]:
            del logins[expired]
        if len(logins) >= _MAX_PENDING:
            del logins[next(iter(logins))]
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        logins[state] = _Login(verifier, nonce, now)  # keyed by state: two tabs can sign in at once
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return Response(status_code=303, headers={"Location": f"{endpoint}?{urlencode(query)}", **_NO_STORE})

    async def callback(request: Request) -> Response:
        params = request.query_params
        started = logins.get(params.get("state", ""))
        if started is None or time.monotonic() - started.started > _LOGIN_TTL:
            return _refuse("Unknown or already used state", "This response does not answer a sign-in started here.")
        # RFC 9207 §2.4: a response from another issuer than this sign-in went to is a mix-up attack.
        if params.get("iss") != issuer:
            return _refuse("Wrong issuer", f"The response claims to come from {params.get('iss')!r}.")
        del logins[params["state"]]  # single use; no await since the look-up, so no parallel callback has it
        if "error" in params:
            return _refuse(f"The provider said: {params['error']}", params.get("error_description", ""))
        meta = await discover()
        # A public client: client_id and the PKCE verifier, no secret (RFC 6749 §4.1.3, RFC 7636 §4.5).
        response = await http.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": params.get("code", ""),
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": started.code_verifier,
            },
        )
        tokens = response.json()
        if response.status_code != 200:
            return _refuse("The code was not accepted", f"{tokens.get('error')}: {tokens.get('error_description')}")
        # The ID token came straight from the token endpoint, so OIDC Core §3.1.3.7 (6) lets a client
        # skip its signature here; iss, aud and the nonce of this very sign-in must still match.
        decoded = decode_unverified(tokens.get("id_token", ""))
        claims = decoded[1] if decoded else {}
        if (claims.get("iss"), claims.get("aud"), claims.get("nonce")) != (issuer, client_id, started.nonce):
            return _refuse("The ID token does not belong to this sign-in", "Its iss, aud or nonce differ.")
        info = await http.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"})
        logout = {"id_token_hint": tokens["id_token"], "client_id": client_id, "post_logout_redirect_uri": home}
        return _page(
            "tokens",
            user=claims.get("preferred_username", claims.get("sub")),
            tokens=[_shown(key, name, tokens.get(key, ""), where) for key, name, where in _TOKENS],
            userinfo_url=meta["userinfo_endpoint"],
            userinfo_status=info.status_code,
            userinfo=_pretty(info.json()) if info.content else info.headers.get("www-authenticate", ""),
            logout_url=f"{meta['end_session_endpoint']}?{urlencode(logout)}",
        )

    async def unreachable(request: Request, exc: Exception) -> Response:
        return _page("error", 502, title="The provider cannot be reached", detail=str(exc))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with http:
            yield

    routes = [Route("/", index), Route("/login", login), Route("/callback", callback)]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={httpx.HTTPError: unreachable})


_NO_STORE = {"Cache-Control": "no-store"}


def _shown(key: str, name: str, raw: str, where: str) -> dict[str, str]:
    header, payload = decode_unverified(raw) or ({}, {})
    shown = {"id": key.replace("_", "-"), "name": name, "raw": raw, "where": where}
    return shown | ({"header": _pretty(header), "payload": _pretty(payload)} if header else {})


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _refuse(title: str, detail: str) -> Response:
    return _page("error", 400, title=title, detail=detail)


def _page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)  # the inline style is allowed by this nonce alone (CSP as the provider's)
    html = _pages.get_template(template).render(nonce=nonce, **context)
    return HTMLResponse(html, status_code=status_code, headers=html_headers(nonce))
