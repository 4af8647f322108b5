"""Plain records passed across the storage interface (no SQLAlchemy types leak out of `storage`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    username_key: str
    email: str | None
    email_verified: bool
    name: str | None
    password_hash: str | None
    disabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    token_endpoint_auth_method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    secret_hash: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    first_party: bool = False
    #: Refresh-cookie mode: the refresh token lives only in an HttpOnly cookie set by the provider.
    refresh_cookie: bool = False
    audience: str | None = None
    jwks: dict[str, object] | None = None
    id_token_signed_response_alg: str = "RS256"
    created_at: int = 0

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def audiences(self) -> tuple[str, ...]:
        """Resources this client may request tokens for; the first is its default (space-separated)."""
        return tuple(self.audience.split()) if self.audience else ()


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    public_jwk: dict[str, object]
    private_key_encrypted: bytes
    created_at: int
    active_from: int
    retired_at: int | None = None
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    sid: str
    user_id: str
    auth_time: int
    amr: tuple[str, ...]
    created_at: int
    expires_at: int
    ended_at: int | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    code_hash: str
    client_id: str
    user_id: str
    sid: str
    redirect_uri: str
    scope: str
    audience: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    auth_time: int
    amr: tuple[str, ...]
    expires_at: int
    consumed_at: int | None = None
    grant_id: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """One authorization of a client by a user: the refresh token family and the tokens minted from it."""

    id: str
    client_id: str
    user_id: str
    sid: str
    scope: str
    audience: tuple[str, ...]
    offline: bool
    auth_time: int
    amr: tuple[str, ...]
    created_at: int
    expires_at: int
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    grant_id: str
    created_at: int
    expires_at: int
    rotated_at: int | None = None
    successor_hash: str | None = None
    replay_response: bytes | None = None
    replay_until: int | None = None


@dataclass(frozen=True, slots=True)
class RefreshTokenState:
    """A refresh token with its family, and whether its successor has itself been rotated.

    `user` and `session` are the family's user and IdP session, read in the same snapshot (None when
    gone), so the refresh grant needs one read, not three.
    """

    token: RefreshToken
    grant: Grant
    successor_rotated: bool = False
    user: User | None = None
    session: Session | None = None


@dataclass(frozen=True, slots=True)
class CodeRedemption:
    """What happened when a code was redeemed: `won` is True for the one caller that got it first."""

    won: bool
    previous_grant_id: str | None = None
