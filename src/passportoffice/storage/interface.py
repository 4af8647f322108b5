"""The storage interface: a few small typed protocols, one per kind of state.

Single-use things are consumed atomically: the consuming call itself says whether this caller was
first (`redeem_code`, `rotate_refresh_token`, `remember_assertion`, `reserve_login_attempt`).
The SQL implementation (`storage.sql`) serves SQLite and PostgreSQL; `tests/storage` is the shared
contract suite both must pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from passportoffice.storage.records import (
    AuthorizationCode,
    Client,
    CodeRedemption,
    Grant,
    RefreshToken,
    RefreshTokenState,
    Session,
    SigningKey,
    User,
)


class DuplicateError(Exception):
    """An object with the same unique key already exists."""


class UserStore(Protocol):
    async def add_user(self, user: User) -> None: ...
    async def get_user(self, user_id: str) -> User | None: ...
    async def find_user(self, username_key: str) -> User | None: ...
    async def list_users(self) -> Sequence[User]: ...
    async def set_user_disabled(self, username_key: str, disabled: bool) -> User | None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...


class ClientStore(Protocol):
    async def add_client(self, client: Client) -> None: ...
    async def get_client(self, client_id: str) -> Client | None: ...
    async def list_clients(self) -> Sequence[Client]: ...
    async def remove_client(self, client_id: str, now: int) -> bool:
        """Remove the client, revoke its grants and forget its consents, in one transaction."""
        ...


class KeyStore(Protocol):
    async def add_key(self, key: SigningKey) -> None: ...
    async def list_keys(self, now: int) -> Sequence[SigningKey]:
        """Every key still published (not past `expires_at`), oldest first."""
        ...

    async def retire_keys(self, kids: Sequence[str], retired_at: int, expires_at: int) -> None: ...


class SessionStore(Protocol):
    async def add_session(self, session: Session) -> None: ...
    async def get_session(self, id_hash: str, now: int) -> Session | None:
        """The live session with this hashed id, or None if unknown, ended, expired or its user disabled."""
        ...

    async def get_session_by_sid(self, sid: str) -> Session | None: ...
    async def end_session(self, sid: str, now: int) -> bool:
        """End the session and revoke its non-offline grants, in one transaction."""
        ...


class AuthorizationRequestStore(Protocol):
    async def put_request(
        self, request_id: str, client_id: str, parameters: Mapping[str, str], expires_at: int
    ) -> None: ...
    async def get_request(self, request_id: str, now: int) -> dict[str, str] | None: ...
    async def delete_request(self, request_id: str) -> None: ...


class CodeStore(Protocol):
    async def add_code(self, code: AuthorizationCode) -> None: ...
    async def get_code(self, code_hash: str) -> AuthorizationCode | None: ...
    async def burn_code(self, code_hash: str, now: int) -> None:
        """Make the code unusable after a failed redemption (wrong verifier, client or redirect_uri)."""
        ...

    async def redeem_code(
        self, code_hash: str, now: int, grant: Grant, refresh_token: RefreshToken | None
    ) -> CodeRedemption:
        """Atomically consume the code and store its grant; on a second redemption revoke that grant."""
        ...


class GrantStore(Protocol):
    async def add_grant(self, grant: Grant, refresh_token: RefreshToken | None) -> None: ...
    async def get_grant(self, grant_id: str) -> Grant | None: ...
    async def get_refresh_token(self, token_hash: str) -> RefreshTokenState | None: ...
    async def rotate_refresh_token(
        self,
        presented_hash: str,
        successor: RefreshToken,
        replay_response: bytes,
        replay_until: int,
        now: int,
    ) -> bool:
        """Compare-and-set: True only for the one caller that rotated the token first."""
        ...

    async def revoke_grant(self, grant_id: str, now: int) -> None: ...


class TokenRevocationStore(Protocol):
    async def revoke_access_token(self, jti: str, expires_at: int) -> None: ...
    async def is_access_token_revoked(self, jti: str) -> bool: ...


class AssertionStore(Protocol):
    async def remember_assertion(self, key: str, expires_at: int, now: int) -> bool:
        """True the first time a (client, jti) is seen before it expires; False for a replay (RFC 7523 §3)."""
        ...


class ConsentStore(Protocol):
    async def get_consent(self, user_id: str, client_id: str) -> frozenset[str]: ...
    async def add_consent(self, user_id: str, client_id: str, scopes: Sequence[str]) -> None: ...


class ThrottleStore(Protocol):
    async def reserve_login_attempt(self, key: str, limit: int, window: int, now: int) -> bool:
        """Count one attempt before the password is checked; False when the key is locked out."""
        ...

    async def release_login_attempt(self, key: str) -> None:
        """Give back this caller's own reservation after a success (never resets racing failures)."""
        ...


class MaintenanceStore(Protocol):
    async def delete_expired(self, now: int, batch_size: int, throttle_window: int | None = None) -> int:
        """Delete up to `batch_size` expired rows per table, drop up to `batch_size` sealed refresh replay
        responses whose reuse window has passed and, given `throttle_window`, login throttling counters
        whose window is over; returns how many rows were deleted or cleared."""
        ...

    async def ping(self) -> None: ...


class Storage(
    UserStore,
    ClientStore,
    KeyStore,
    SessionStore,
    AuthorizationRequestStore,
    CodeStore,
    GrantStore,
    TokenRevocationStore,
    AssertionStore,
    ConsentStore,
    ThrottleStore,
    MaintenanceStore,
    Protocol,
):
    """Everything the provider needs; the SQL implementation provides all of it."""

    async def close(self) -> None: ...
