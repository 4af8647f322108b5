"""Refresh token grant with rotation and reuse detection: RFC 6749 §6, RFC 9700 §4.14.2, OIDC Core §12.

Every use rotates the token. A rotated token presented again revokes its family, except the immediate
predecessor presented by the same client within `refresh_reuse_window`: it gets back the very same
successor response, which was stored encrypted under a key only that predecessor token can derive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from passportoffice.crypto.secretbox import DecryptionError, decrypt, derive_key, encrypt
from passportoffice.errors import InvalidGrant, InvalidRequest
from passportoffice.protocol.resources import narrow_audience
from passportoffice.protocol.scopes import narrow_scope, parse_scope
from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.provider.issuance import token_response
from passportoffice.storage.records import Client, RefreshToken, RefreshTokenState, Session

GRANT_TYPE = "refresh_token"

_MAX_TOKEN_LENGTH = 128


async def handle(provider: Provider, client: Client, parameters: Mapping[str, str]) -> dict[str, Any]:
    presented = parameters.get("refresh_token")
    if not presented:
        raise InvalidRequest("refresh_token is required")
    if len(presented) > _MAX_TOKEN_LENGTH:
        raise InvalidGrant("the refresh token is invalid")
    token_hash = provider.hash(presented)
    state = await provider.storage.get_refresh_token(token_hash)
    now = provider.now()
    if state is None or state.grant.client_id != client.client_id:
        raise InvalidGrant("the refresh token is invalid")
    if state.token.rotated_at is not None:
        return await _reused(provider, presented, state, now)
    grant = state.grant
    if grant.revoked_at is not None or grant.expires_at <= now or state.token.expires_at <= now:
        raise InvalidGrant("the refresh token has expired or was revoked")
    # The family's user and session came with the token, read in the same snapshot.
    user = state.user
    if user is None or user.disabled:
        raise InvalidGrant("the refresh token is no longer valid")
    if not grant.offline and not _session_alive(state.session, now):
        # Without offline_access a family lives no longer than the sign-in it came from.
        raise InvalidGrant("the session this refresh token belongs to has ended")
    scopes = narrow_scope(parse_scope(parameters.get("scope")), tuple(grant.scope.split()))
    audience = narrow_audience(parameters.get("resource"), grant.audience)
    successor_raw = new_token()
    successor = RefreshToken(
        token_hash=provider.hash(successor_raw),
        grant_id=grant.id,
        created_at=now,
        # Rotation never extends the family past its absolute lifetime.
        expires_at=min(now + provider.settings.refresh_token_idle_ttl, grant.expires_at),
    )
    response = token_response(
        provider,
        client=client,
        user=user,
        grant=replace(grant, audience=audience),
        scopes=scopes,
        refresh_token=successor_raw,
    )
    sealed = encrypt(_replay_key(presented), json.dumps(response).encode(), token_hash.encode())
    replay_until = now + provider.settings.refresh_reuse_window
    if await provider.storage.rotate_refresh_token(token_hash, successor, sealed, replay_until, now):
        return response
    # Another request rotated it first; answer as for any presentation of a rotated token.
    state = await provider.storage.get_refresh_token(token_hash)
    if state is None:
        raise InvalidGrant("the refresh token is invalid")
    return await _reused(provider, presented, state, now)


async def _reused(provider: Provider, presented: str, state: RefreshTokenState, now: int) -> dict[str, Any]:
    token = state.token
    grace = (
        state.grant.revoked_at is None
        and not state.successor_rotated
        and token.replay_response is not None
        and token.replay_until is not None
        # Strictly before: a window of 0 must mean no replay at all, even within the same second (K13).
        and now < token.replay_until
    )
    if grace and token.replay_response is not None:
        try:
            replayed: dict[str, Any] = json.loads(
                decrypt(_replay_key(presented), token.replay_response, token.token_hash.encode())
            )
        except DecryptionError:
            pass
        else:
            return replayed
    # A replayed rotated token: someone else holds the family. Revoke exactly this family (K12).
    await provider.storage.revoke_grant(state.grant.id, now)
    raise InvalidGrant("the refresh token was already used")


def _session_alive(session: Session | None, now: int) -> bool:
    return session is not None and session.ended_at is None and session.expires_at > now


def _replay_key(presented: str) -> bytes:
    return derive_key(presented.encode(), "passportoffice/refresh-replay")
