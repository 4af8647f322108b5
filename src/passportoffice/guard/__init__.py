"""passportoffice.guard: the resource server's side, validating access tokens (RFC 9068, RFC 7662, RFC 6750).

    from passportoffice.guard import TokenVerifier, InvalidToken, InsufficientScope

    verifier = TokenVerifier("https://idp.example", "https://api.example")
    token = await verifier.verify(bearer, scopes=("notes:read",))   # token.subject, token.scopes, ...

Framework integrations live in `passportoffice.guard.fastapi`, `.starlette` and `.flask`; importing
this package imports none of them, and none of the provider's server dependencies.
"""

from passportoffice.guard.bearer import ErrorResponse, bearer_token, error_response
from passportoffice.guard.claims import VerifiedToken
from passportoffice.guard.errors import InsufficientScope, InvalidRequest, InvalidToken, MissingToken
from passportoffice.guard.introspection import IntrospectionVerifier
from passportoffice.guard.jwks import JwksPolicy
from passportoffice.guard.sync import SyncTokenVerifier
from passportoffice.guard.verifier import TokenVerifier
from passportoffice.guard.verifying import Verifier

__all__ = [
    "ErrorResponse",
    "InsufficientScope",
    "IntrospectionVerifier",
    "InvalidRequest",
    "InvalidToken",
    "JwksPolicy",
    "MissingToken",
    "SyncTokenVerifier",
    "TokenVerifier",
    "VerifiedToken",
    "Verifier",
    "bearer_token",
    "error_response",
]
