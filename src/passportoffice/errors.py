"""OAuth 2.0 / OpenID Connect error codes, one exception class each.

RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 8707 §2, OpenID Connect Core §3.1.2.6.
Each class knows its HTTP status and whether it may be redirected back to the client. Exactly one
module (`passportoffice.web.errors`) turns them into HTTP responses; nothing else renders an error.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "ConsentRequired",
    "InsufficientScope",
    "InteractionRequired",
    "InvalidClient",
    "InvalidClientMetadata",
    "InvalidGrant",
    "InvalidRedirectUri",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "LoginRequired",
    "OAuthError",
    "RequestNotSupported",
    "RequestTooLarge",
    "RequestUriNotSupported",
    "ServerError",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UnsupportedTokenType",
]


class OAuthError(Exception):
    """Base class: `error` is the registered code, `description` is safe to show to the client."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400
    #: May this error be sent to the client's redirect_uri (once that URI has been validated)?
    redirectable: ClassVar[bool] = True

    def __init__(self, description: str = "") -> None:
        super().__init__(description or self.error)
        self.description = description


class InvalidRequest(OAuthError):
    error = "invalid_request"


class RequestTooLarge(InvalidRequest):
    """An input exceeded a size limit before it was parsed (status 413, code `invalid_request`)."""

    status_code = 413


class InvalidClient(OAuthError):
    # RFC 6749 §5.2: 401 when the client tried to authenticate; never redirected, the client is unknown.
    error = "invalid_client"
    status_code = 401
    redirectable = False


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    error = "invalid_target"


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class RequestNotSupported(OAuthError):
    """OIDC Core §6.1: an OP that does not support request objects MUST answer with this code."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OIDC Core §6.2: likewise for `request_uri`."""

    error = "request_uri_not_supported"


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2; also raised when a redirect URI fails validation (never redirected)."""

    error = "invalid_redirect_uri"
    redirectable = False


class InvalidClientMetadata(OAuthError):
    error = "invalid_client_metadata"
    redirectable = False


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the bearer token is missing, expired, revoked, malformed or not for us."""

    error = "invalid_token"
    status_code = 401
    redirectable = False


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token is valid but lacks a scope; `scope` names what is needed."""

    error = "insufficient_scope"
    status_code = 403
    redirectable = False

    def __init__(self, description: str = "", *, scope: str = "") -> None:
        super().__init__(description)
        self.scope = scope


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503
