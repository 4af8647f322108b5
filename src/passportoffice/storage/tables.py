"""The database schema (SQLAlchemy Core). Times are integer Unix seconds; secrets are stored only hashed.

Alembic migrations in `storage/migrations/versions/` must produce exactly this schema; a test compares them.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(255), nullable=False),
    # NFKC + casefold of the username: look-alikes that fold to an existing account are duplicates (K38).
    sa.Column("username_key", sa.String(255), nullable=False, unique=True),
    sa.Column("email", sa.String(320)),
    sa.Column("email_key", sa.String(320), unique=True),
    sa.Column("email_verified", sa.Boolean, nullable=False, default=False),
    sa.Column("name", sa.String(255)),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.String(255), primary_key=True),
    sa.Column("secret_hash", sa.String(128)),
    sa.Column("token_endpoint_auth_method", sa.String(64), nullable=False),
    sa.Column("redirect_uris", sa.JSON, nullable=False),
    sa.Column("post_logout_redirect_uris", sa.JSON, nullable=False),
    sa.Column("grant_types", sa.JSON, nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("origins", sa.JSON, nullable=False),
    sa.Column("first_party", sa.Boolean, nullable=False, default=False),
    # The refresh token goes only into an HttpOnly cookie, never into a JSON body (issue 4).
    sa.Column("refresh_cookie", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("audience", sa.String(2048)),
    sa.Column("jwks", sa.JSON),
    sa.Column("id_token_signed_response_alg", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    # AES-GCM under a key derived from the instance secret; the database alone never yields a private key.
    sa.Column("private_key_encrypted", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Published in the JWKS from created_at, signs from active_from: clients see a key before any token.
    sa.Column("active_from", sa.BigInteger, nullable=False),
    sa.Column("retired_at", sa.BigInteger),
    # Dropped from the JWKS after this: the last token it signed has expired.
    sa.Column("expires_at", sa.BigInteger),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(128), primary_key=True),
    sa.Column("sid", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("auth_time", sa.BigInteger, nullable=False),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("ended_at", sa.BigInteger),
    sa.Index("ix_sessions_user_id", "user_id"),
)

authorization_requests = sa.Table(
    "authorization_requests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

authorization_codes = sa.Table(
    "authorization_codes",
    metadata,
    sa.Column("code_hash", sa.String(128), primary_key=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("sid", sa.String(64), nullable=False),
    sa.Column("redirect_uri", sa.String(2048), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("audience", sa.JSON, nullable=False),
    sa.Column("nonce", sa.String(1024)),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("auth_time", sa.BigInteger, nullable=False),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("consumed_at", sa.BigInteger),
    # The grant created by the first redemption; a second redemption revokes it (RFC 6749 §4.1.2).
    sa.Column("grant_id", sa.String(64)),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("sid", sa.String(64), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("audience", sa.JSON, nullable=False),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("auth_time", sa.BigInteger, nullable=False),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Absolute lifetime of the refresh token family: rotation never extends past it.
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("revoked_at", sa.BigInteger),
    sa.Index("ix_grants_sid", "sid"),
    sa.Index("ix_grants_user_id", "user_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(128), primary_key=True),
    sa.Column("grant_id", sa.String(64), sa.ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Idle lifetime, capped by the grant's absolute lifetime.
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("rotated_at", sa.BigInteger),
    sa.Column("successor_hash", sa.String(128)),
    # The successor response, encrypted under a key derived from this (presented) token, kept only
    # for the reuse window so a lost response or a second tab gets the same pair back.
    sa.Column("replay_response", sa.LargeBinary),
    # Indexed so the clean-up finds the sealed responses whose window has passed and drops them.
    sa.Column("replay_until", sa.BigInteger, index=True),
    sa.Index("ix_refresh_tokens_grant_id", "grant_id"),
)

revoked_access_tokens = sa.Table(
    "revoked_access_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

used_client_assertions = sa.Table(
    "used_client_assertions",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("client_id", sa.String(255), primary_key=True),
    sa.Column("scopes", sa.JSON, nullable=False),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_started", sa.BigInteger, nullable=False, index=True),
)
