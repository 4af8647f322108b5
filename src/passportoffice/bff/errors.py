"""What the BFF refuses with: one class per error, each with its status and code; `app` renders them
as JSON in one place. Descriptions are fixed sentences: no token, claim or upstream text goes in."""

from __future__ import annotations

__all__ = [
    "BffError",
    "Forbidden",
    "InvalidLogin",
    "LoginRequired",
    "NotFound",
    "PayloadTooLarge",
    "ProviderUnavailable",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class BffError(Exception):
    status = 400
    error = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidLogin(BffError):
    """A callback that cannot complete a login: unknown or replayed state, issuer mismatch, bad ID token."""


class Forbidden(BffError):
    """K37: the custom header or an allowed Origin is missing; nothing was forwarded."""

    status = 403
    error = "forbidden"


class LoginRequired(BffError):
    status = 401
    error = "login_required"


class NotFound(BffError):
    status = 404
    error = "not_found"


class PayloadTooLarge(BffError):
    status = 413
    error = "payload_too_large"


class ProviderUnavailable(BffError):
    status = 502
    error = "provider_unavailable"


class UpstreamUnavailable(BffError):
    status = 502
    error = "upstream_unavailable"


class UpstreamTimeout(BffError):
    status = 504
    error = "upstream_timeout"
