"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 §2.3 (one method per request; client_secret_basic §2.3.1 with form-urlencoded credentials,
client_secret_post), RFC 7523 §2.2 and §3 (private_key_jwt, replayed assertions refused), OIDC Core §9,
RFC 6749 §2.1 (public clients send only client_id). A confidential client always authenticates, even
when it also sends a PKCE verifier (K27). Secrets are compared as keyed hashes in constant time (K28).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import jwt

from passportoffice.errors import InvalidClient, InvalidRequest
from passportoffice.protocol.secrets import constant_time_equals
from passportoffice.provider.context import Provider
from passportoffice.storage.records import Client

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_PARAMETERS = frozenset({"client_id", "client_secret", "client_assertion", "client_assertion_type"})
_SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
_ASSERTION_ALGORITHMS = {"RSA": ("RS256", "PS256"), "EC": ("ES256",)}
_MAX_ASSERTION_LIFETIME = 600
_LEEWAY = 60
_MAX_CREDENTIAL_LENGTH = 512
# Checked before the assertion is decoded at all (K40); a real one is well under 2 kB.
_MAX_ASSERTION_LENGTH = 8192


async def authenticate_client(
    provider: Provider, authorization: str | None, parameters: Mapping[str, str], endpoint_url: str
) -> Client:
    basic = _parse_basic(authorization) if authorization else None
    used = [
        name
        for name, present in (
            ("client_secret_basic", basic is not None),
            ("client_secret_post", "client_secret" in parameters),
            ("private_key_jwt", "client_assertion" in parameters or "client_assertion_type" in parameters),
        )
        if present
    ]
    if len(used) > 1:
        raise InvalidRequest("use exactly one client authentication method")
    method = used[0] if used else "none"
    client_id = basic[0] if basic else parameters.get("client_id")
    if method == "private_key_jwt":
        client_id = await _client_id_from_assertion(parameters)
    if not client_id:
        raise InvalidClient("client authentication is required")
    if basic and parameters.get("client_id", client_id) != client_id:
        raise InvalidRequest("client_id does not match the authenticated client")
    client = await provider.clients.get(client_id) if len(client_id) <= 255 else None
    if method in _SECRET_METHODS:
        secret = basic[1] if basic else parameters["client_secret"]
        stored = client.secret_hash if client and client.secret_hash else ""
        # Hash even for unknown clients, so both paths cost the same.
        if not constant_time_equals(provider.hash(secret), stored) or client is None:
            raise InvalidClient("client authentication failed")
        if client.token_endpoint_auth_method not in _SECRET_METHODS:
            raise InvalidClient("this client must use " + client.token_endpoint_auth_method)
        return client
    if client is None:
        raise InvalidClient("client authentication failed")
    if method == "private_key_jwt":
        if client.token_endpoint_auth_method != "private_key_jwt":
            raise InvalidClient("this client must use " + client.token_endpoint_auth_method)
        await _verify_assertion(provider, client, parameters["client_assertion"], endpoint_url)
        return client
    if not client.is_public:
        raise InvalidClient("this client must authenticate")
    return client


def _parse_basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    if len(value) > 2 * _MAX_CREDENTIAL_LENGTH:
        raise InvalidClient("malformed Basic credentials")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed Basic credentials") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise InvalidClient("malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


async def _client_id_from_assertion(parameters: Mapping[str, str]) -> str:
    if parameters.get("client_assertion_type") != JWT_BEARER_ASSERTION or "client_assertion" not in parameters:
        raise InvalidClient("client_assertion_type must be " + JWT_BEARER_ASSERTION)
    if len(parameters["client_assertion"]) > _MAX_ASSERTION_LENGTH:
        raise InvalidClient("client assertion is too large")
    try:
        unverified = jwt.decode(parameters["client_assertion"], options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidClient("malformed client assertion") from exc
    subject = unverified.get("sub")
    if not isinstance(subject, str) or unverified.get("iss") != subject:
        raise InvalidClient("client assertion iss and sub must both be the client_id")
    if parameters.get("client_id", subject) != subject:
        raise InvalidRequest("client_id does not match the client assertion")
    return subject


async def _verify_assertion(provider: Provider, client: Client, assertion: str, endpoint_url: str) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
        keys = jwt.PyJWKSet.from_dict(client.jwks or {"keys": []})
    except jwt.PyJWTError as exc:
        raise InvalidClient("client assertion cannot be verified") from exc
    candidates = [key for key in keys.keys if header.get("kid") in (None, key.key_id)]
    if not candidates:
        raise InvalidClient("no registered key matches the client assertion")
    claims: dict[str, Any] | None = None
    audiences = [provider.settings.issuer, endpoint_url]
    for candidate in candidates:
        # The algorithm comes from the registered key type, never from the assertion header.
        allowed = [
            alg
            for alg in _ASSERTION_ALGORITHMS.get(candidate.key_type or "", ())
            if candidate.algorithm_name in (alg, None)
        ]
        try:
            claims = jwt.decode(
                assertion,
                candidate.key,
                algorithms=allowed or ["RS256"],
                audience=audiences,
                issuer=client.client_id,
                options={"require": ["exp", "iss", "sub", "aud", "jti"], "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False},
            )
            break
        except jwt.PyJWTError:
            continue
    if claims is None:
        raise InvalidClient("client assertion cannot be verified")
    now = provider.now()
    expires_at = claims["exp"]
    if not isinstance(expires_at, int) or expires_at + _LEEWAY <= now:
        raise InvalidClient("client assertion has expired")
    if expires_at > now + _MAX_ASSERTION_LIFETIME or not isinstance(claims["jti"], str) or not claims["jti"]:
        raise InvalidClient("client assertion must be short-lived and carry a jti")
    not_before = claims.get("nbf", claims.get("iat"))
    if isinstance(not_before, int | float) and not_before > now + _LEEWAY:
        raise InvalidClient("client assertion is not valid yet")
    seen_key = "assertion:" + provider.hash(client.client_id + "\x00" + claims["jti"])
    if not await provider.storage.remember_assertion(seen_key, expires_at + _LEEWAY, now):
        raise InvalidClient("client assertion was already used")
