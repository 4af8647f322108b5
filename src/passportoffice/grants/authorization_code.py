"""Authorization code grant: RFC 6749 §4.1.3, RFC 7636 §4.6 (PKCE), RFC 9700 §2.1.1, §4.8."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passportoffice.errors import InvalidGrant, InvalidRequest
from passportoffice.protocol.pkce import verify_code_verifier
from passportoffice.protocol.resources import narrow_audience
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.issuance import client_may_refresh, token_response
from passportoffice.storage.records import AuthorizationCode, Client, Grant, RefreshToken

GRANT_TYPE = "authorization_code"


async def handle(provider: Provider, client: Client, parameters: Mapping[str, str]) -> dict[str, Any]:
    code = parameters.get("code")
    if not code:
        raise InvalidRequest("code is required")
    if len(code) > 128:
        raise InvalidGrant("the code is invalid")
    code_hash = provider.hash(code)
    record = await provider.storage.get_code(code_hash)
    now = provider.now()
    if record is None:
        raise InvalidGrant("the code is invalid")
    if record.consumed_at is not None:
        # A second redemption revokes what the first one issued (RFC 6749 §4.1.2, K11).
        if record.grant_id is not None:
            await provider.storage.revoke_grant(record.grant_id, now)
        raise InvalidGrant("the code has already been used")
    try:
        _check_binding(record, client, parameters, now)
    except InvalidGrant:
        # An attempt with the wrong verifier, client or redirect_uri spends the code (K09).
        await provider.storage.burn_code(code_hash, now)
        raise
    audience = narrow_audience(parameters.get("resource"), record.audience)
    user = await provider.storage.get_user(record.user_id)
    session = await provider.storage.get_session_by_sid(record.sid)
    if user is None or user.disabled or session is None or session.ended_at is not None or session.expires_at <= now:
        raise InvalidGrant("the authorization is no longer valid")
    scopes = tuple(record.scope.split())
    grant = Grant(
        id=new_token(16),
        client_id=client.client_id,
        user_id=user.id,
        sid=record.sid,
        scope=record.scope,
        audience=audience,
        offline="offline_access" in scopes,
        auth_time=record.auth_time,
        amr=record.amr,
        created_at=now,
        expires_at=now + provider.settings.refresh_token_absolute_ttl,
    )
    raw_refresh = new_token() if client_may_refresh(client) else None
    stored_refresh = (
        RefreshToken(
            token_hash=provider.hash(raw_refresh),
            grant_id=grant.id,
            created_at=now,
            expires_at=now + provider.settings.refresh_token_idle_ttl,
        )
        if raw_refresh
        else None
    )
    response = token_response(
        provider,
        client=client,
        user=user,
        grant=grant,
        scopes=scopes,
        refresh_token=raw_refresh,
        nonce=record.nonce,
    )
    redemption = await provider.storage.redeem_code(code_hash, now, grant, stored_refresh)
    if not redemption.won:
        raise InvalidGrant("the code has already been used")
    return response


def _check_binding(record: AuthorizationCode, client: Client, parameters: Mapping[str, str], now: int) -> None:
    if record.client_id != client.client_id:
        raise InvalidGrant("the code was issued to another client")
    if record.expires_at <= now:
        raise InvalidGrant("the code has expired")
    # Byte-for-byte, no normalisation (RFC 6749 §4.1.3, K05).
    if parameters.get("redirect_uri") != record.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    verify_code_verifier(parameters.get("code_verifier"), record.code_challenge)
