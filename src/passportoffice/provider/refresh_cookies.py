"""Refresh-cookie mode (issue 4): which browser requests may use a refresh cookie, and how long it may live.

The refresh token of a refresh-cookie client never appears in a JSON body, so no script can read it.
A cookie that the browser attaches by itself needs a CSRF defence wherever it authorizes something
(K37, design notes): on top of `SameSite=Strict`, the request must carry the custom header (which a
form cannot send, and which forces a CORS preflight) and an `Origin` the client registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from passportoffice.errors import AccessDenied
from passportoffice.protocol.sites import same_site
from passportoffice.provider.context import Provider
from passportoffice.storage.records import Client

__all__ = [
    "REQUESTED_WITH_HEADER",
    "REQUESTED_WITH_VALUE",
    "cookie_lifetime",
    "cross_site_origins",
    "require_custom_header",
    "require_registered_origin",
    "revoke_cookie_family",
    "without_refresh_token",
]

REQUESTED_WITH_HEADER = "X-Requested-With"
REQUESTED_WITH_VALUE = "passportoffice"
# Refresh tokens are 43 characters; anything longer was never issued and is not looked up.
_MAX_TOKEN_LENGTH = 128


def require_custom_header(value: str | None) -> None:
    if value != REQUESTED_WITH_VALUE:
        raise AccessDenied(f"this request must carry the header {REQUESTED_WITH_HEADER}: {REQUESTED_WITH_VALUE}")


def require_registered_origin(origins: tuple[str, ...], origin: str | None) -> None:
    """`origins` are the identified client's; compared exactly, as they are registered as browsers send them."""
    if not origin or origin not in origins:
        raise AccessDenied("this request must come from an origin registered by the client")


def without_refresh_token(body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The token response for the browser, and the refresh token that goes into the cookie instead."""
    rest = dict(body)
    refresh_token = rest.pop("refresh_token", None)
    return rest, refresh_token if isinstance(refresh_token, str) else None


async def cookie_lifetime(provider: Provider, refresh_token: str) -> int:
    """Seconds the refresh token has left (idle, absolute, and its session's without offline_access).

    The cookie's Max-Age never exceeds it. Read back from storage rather than recomputed, so a response
    replayed within the reuse window (minted seconds ago) gets the successor's true remaining life.
    """
    state = await provider.storage.get_refresh_token(provider.hash(refresh_token))
    if state is None:
        return 0
    expires_at = min(state.token.expires_at, state.grant.expires_at)
    if not state.grant.offline:
        # Such a family dies with the sign-in it came from (grants.refresh_token), so the cookie does too.
        session = await provider.storage.get_session_by_sid(state.grant.sid)
        expires_at = min(expires_at, session.expires_at) if session is not None else 0
    return max(0, expires_at - provider.now())


async def revoke_cookie_family(provider: Provider, client_id: str, refresh_token: str) -> bool:
    """Revoke the family of a refresh cookie, if it is a live token of the client its name says (logout)."""
    if len(refresh_token) > _MAX_TOKEN_LENGTH:
        return False
    state = await provider.storage.get_refresh_token(provider.hash(refresh_token))
    if state is None or state.grant.client_id != client_id:
        return False
    await provider.storage.revoke_grant(state.grant.id, provider.now())
    return True


def cross_site_origins(issuer: str, clients: Iterable[Client]) -> list[tuple[str, str]]:
    """(client_id, origin) for each refresh-cookie client origin not on the issuer's site (see protocol.sites).

    From such an origin the refresh cookie is a third-party cookie, which browsers block: the SPA would
    sign in and then lose its session on the first reload. Such an app needs the BFF instead.
    """
    return [
        (client.client_id, origin)
        for client in clients
        if client.refresh_cookie
        for origin in client.origins
        if not same_site(issuer, origin)
    ]
