"""The provider's browser cookies: the IdP session, the login form's CSRF binding, and refresh cookies.

All use the `__Host-` prefix: Secure, Path=/ and no Domain, so no sibling subdomain can set or
overwrite them (K36). Browsers treat http://localhost as secure, so this works in development too.
A refresh-cookie client's refresh token lives in its own cookie, `__Host-passportoffice-refresh-`
followed by the percent-encoded client id (one per client, so two SPAs on one site never collide).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from passportoffice.protocol.secrets import constant_time_equals
from passportoffice.provider.context import Provider

CSRF_COOKIE = "__Host-passportoffice-csrf"
REFRESH_COOKIE_PREFIX = "__Host-passportoffice-refresh-"


def set_session_cookie(response: Response, provider: Provider, value: str) -> None:
    response.set_cookie(
        provider.settings.session_cookie_name,
        value,
        max_age=provider.settings.session_ttl,
        path="/",
        secure=True,
        httponly=True,
        # Lax, not Strict: the session must flow on the top-level redirect from the client's site.
        samesite="lax",
    )


def clear_session_cookie(response: Response, provider: Provider) -> None:
    response.delete_cookie(provider.settings.session_cookie_name, path="/", secure=True, httponly=True, samesite="lax")


def session_cookie(request: Request, provider: Provider) -> str | None:
    return request.cookies.get(provider.settings.session_cookie_name)


def csrf_binding(request: Request) -> tuple[str, bool]:
    """The browser's CSRF binding value, and whether it must be set now."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) <= 64:
        return existing, False
    return secrets.token_urlsafe(32), True


def set_csrf_cookie(response: Response, value: str) -> None:
    response.set_cookie(CSRF_COOKIE, value, path="/", secure=True, httponly=True, samesite="strict")


def csrf_token(provider: Provider, binding: str, request_id: str) -> str:
    """A token bound to this browser (cookie) and this pending request (double submit, keyed)."""
    key = provider.key_for("csrf")
    return hmac.new(key, f"{binding}|{request_id}".encode(), "sha256").hexdigest()


def csrf_valid(provider: Provider, request: Request, request_id: str, submitted: str | None) -> bool:
    binding = request.cookies.get(CSRF_COOKIE)
    if not binding or not submitted:
        return False
    return constant_time_equals(csrf_token(provider, binding, request_id), submitted)


def refresh_cookie_name(client_id: str) -> str:
    # Percent-encoding keeps any client id within the cookie-name token (RFC 6265 §4.1.1) and is injective.
    return REFRESH_COOKIE_PREFIX + quote(client_id, safe="")


def set_refresh_cookie(response: Response, client_id: str, value: str, max_age: int) -> None:
    """`max_age` is the token's remaining life (idle and absolute), so the cookie never outlives it."""
    response.set_cookie(
        refresh_cookie_name(client_id),
        value,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        # Strict: the cookie is used only by the SPA's own same-site fetches, never on navigations.
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, client_id: str) -> None:
    response.delete_cookie(refresh_cookie_name(client_id), path="/", secure=True, httponly=True, samesite="strict")


def refresh_cookie(request: Request, client_id: str) -> str | None:
    return request.cookies.get(refresh_cookie_name(client_id)) or None


def refresh_cookies(request: Request) -> dict[str, str]:
    """Every refresh cookie the browser sent, by client id."""
    return {
        unquote(name.removeprefix(REFRESH_COOKIE_PREFIX)): value
        for name, value in request.cookies.items()
        if name.startswith(REFRESH_COOKIE_PREFIX) and value
    }
