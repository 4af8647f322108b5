"""Provider metadata: OpenID Connect Discovery 1.0 §3-§4, RFC 8414 §2-§3, RFC 9207 §3."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passportoffice.provider.context import Provider


def metadata(issuer: str, access_token_alg: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo",
        "jwks_uri": issuer + "/jwks",
        "revocation_endpoint": issuer + "/revoke",
        "introspection_endpoint": issuer + "/introspect",
        "end_session_endpoint": issuer + "/end_session",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "access_token_signing_alg_values_supported": [access_token_alg],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr",
            "name", "preferred_username", "email", "email_verified",
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": True,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        # Not a registered metadata name (RFC 8414 §2 allows extensions): where refresh-cookie SPAs refresh.
        "passportoffice_refresh_cookie_endpoint": issuer + "/token/refresh",
    }


async def openid_configuration(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    settings = provider.settings
    body = metadata(settings.issuer, settings.access_token_signing_alg)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})
