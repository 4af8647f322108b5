"""Resource indicators: which audience an access token gets (RFC 8707 §2, RFC 9068 §3)."""

from __future__ import annotations

from urllib.parse import urlsplit

from passportoffice.errors import InvalidTarget

MAX_RESOURCE_LENGTH = 2048


def resolve_audience(resource: str | None, allowed: tuple[str, ...], default: str) -> tuple[str, ...]:
    """The token's audience: the requested resource if the client may ask for it, else its default.

    A client may only name resources registered for it, so no client can mint tokens for any API.
    """
    if resource is None:
        return (allowed[0],) if allowed else (default,)
    if len(resource) > MAX_RESOURCE_LENGTH:
        raise InvalidTarget("resource is too long")
    parts = urlsplit(resource)
    if not parts.scheme or "#" in resource:
        raise InvalidTarget("resource must be an absolute URI without a fragment")
    if resource not in allowed:
        raise InvalidTarget("resource is not registered for this client")
    return (resource,)


def narrow_audience(resource: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """At the token endpoint a resource may only pick one of the audiences already granted."""
    if resource is None:
        return granted
    if resource not in granted:
        raise InvalidTarget("resource was not part of the grant")
    return (resource,)
